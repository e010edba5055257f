"""/changes: what the working data changes since the last release, in words and as a patch.

The last release is the last git tag, or the first commit when nothing is tagged; the patch
is SPARQL Update.
"""

import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template

from ... import config as cfg
from ...authoring.diff import baseline_revision, diff_sides, load_side, resolve_revision
from ...files import fingerprint

bp = Blueprint("changes", __name__)

_cache = {}
_lock = threading.Lock()


def current_diff():
    """(diff or None, how the baseline was chosen): memoised by the baseline's commit and
    the working files' sizes and times, since a diff parses both versions (about a second)."""
    settings = cfg.resolve(current_app.config)
    root = Path(settings["ROOT"])
    baseline = baseline_revision(root)
    if baseline is None:
        return None, f"{root} is not a git repository, so there is no earlier version to compare with."
    rev, chosen = baseline
    commit = resolve_revision(root, rev)
    key = (str(root), commit, fingerprint(cfg.data_files(settings)))
    with _lock:
        cached = _cache.get(str(root))
        if cached and cached[0] == key:
            return cached[1], chosen
    result = diff_sides(load_side(rev, settings), load_side(str(root), settings))
    result.new = "the working data"
    with _lock:
        _cache[str(root)] = (key, result)
    return result, chosen


@bp.get("/changes")
def index():
    result, chosen = current_diff()
    return render_template("changes/index.html", diff=result, chosen=chosen)


@bp.get("/api/changes")
def as_json():
    result, chosen = current_diff()
    if result is None:
        return jsonify({"ok": True, "baseline": None, "note": chosen, "changes": []})
    return jsonify({**result.as_dict(), "baseline": chosen})


@bp.get("/changes/patch")
def patch():
    result, chosen = current_diff()
    text = result.to_patch() if result is not None else f"# {chosen}\n"
    return Response(text, mimetype="application/sparql-update")
