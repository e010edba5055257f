"""GET /api/status: what graph serves, since when, and why the last reload failed (if it did).

Read-only and cheap: the figures are kept by the graph holder at each (re)load; nothing is
queried here. Never cached (server/web/cache.py): it changes without the graph changing.
"""

from flask import Blueprint, current_app, jsonify

bp = Blueprint("status", __name__, url_prefix="/api")


@bp.get("/status")
def status():
    holder = current_app.extensions["coderef.graph"]
    holder.refresh()  # like any request: a change of the files is looked at first
    return jsonify({"ok": True, **holder.status()})
