"""/changes: what the working data changes since the last release, in words and as a patch.

The last release is the last git tag, or the first commit when nothing is tagged; the patch
is SPARQL Update.
"""

import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ... import config as cfg
from ...authoring.diff import baseline_revision, diff_sides, load_side, resolve_revision
from ...errors import BadRequest
from ...files import fingerprint

bp = Blueprint("changes", __name__)

_cache = {}
_lock = threading.Lock()


# Baselines a person may pick: tags, and the latest commits that touched the data.
RECENT_COMMITS = 12
KEPT_DIFFS = 4


def baselines(root: Path) -> list[dict]:
    """The revisions /changes offers to compare with: every tag, newest first, then the last
    commits that changed ontology/ or data/, each {rev, label}."""
    from ...authoring.diff import _git  # noqa: PLC0415

    out = []
    for tag in (_git(root, "tag", "--sort=-creatordate") or "").split():
        out.append({"rev": tag, "label": f"tag {tag}"})
    log = _git(root, "log", f"-{RECENT_COMMITS}", "--format=%H%x09%ad%x09%s", "--date=short", "--", "ontology", "data") or ""
    for line in log.splitlines():
        commit, _, rest = line.partition("\t")
        day, _, subject = rest.partition("\t")
        out.append({"rev": commit, "label": f"{commit[:10]} {day} {subject[:70]}"})
    return out


def current_diff(since: str | None = None):
    """(diff or None, how the baseline was chosen): against `since` (a revision offered by
    `baselines`) or the last release; memoised by the baseline's commit and the working
    files' sizes and times, since a diff parses both versions (about a second)."""
    settings = cfg.resolve(current_app.config)
    root = Path(settings["ROOT"])
    if since:
        if since not in {b["rev"] for b in baselines(root)}:
            raise BadRequest(f"“Compare with” must be one of the versions offered on /changes, not {since[:40]!r}")
        baseline = (since, f"{since[:10]}" if len(since) == 40 else since)
    else:
        baseline = baseline_revision(root)
    if baseline is None:
        return None, f"{root} is not a git repository, so there is no earlier version to compare with."
    rev, chosen = baseline
    commit = resolve_revision(root, rev)
    key = (str(root), commit, fingerprint(cfg.data_files(settings)))
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached, chosen
    result = diff_sides(load_side(rev, settings), load_side(str(root), settings))
    result.new = "the working data"
    with _lock:
        _cache[key] = result
        while len(_cache) > KEPT_DIFFS:
            _cache.pop(next(iter(_cache)))
    return result, chosen


def grouped(diff, by: str) -> dict:
    """Per payer or code: its changes, with the things only added (a "new concept" each)
    kept apart, so the changes to what was there already stand out."""
    groups: dict = {}
    for change in diff.changes:
        keys = [change.payer] if by == "payer" and change.payer else (change.codes if by == "code" else [])
        for key in keys:
            group = groups.setdefault(key, {"changed": [], "new": []})
            sentence = change.sentence([key]) if by == "code" else change.sentence()
            new = change.action == "added" and change.property is None
            group["new" if new else "changed"].append(sentence)
    return dict(sorted(groups.items()))


@bp.get("/changes")
def index():
    since = request.args.get("since", "").strip() or None
    result, chosen = current_diff(since)
    root = Path(cfg.resolve(current_app.config)["ROOT"])
    groups = {"payer": grouped(result, "payer"), "code": grouped(result, "code")} if result is not None else {}
    other = [c for c in result.changes if not c.payer and not c.codes] if result is not None else []
    return render_template("changes/index.html", diff=result, chosen=chosen, baselines=baselines(root), since=since,
                           groups=groups, other_changed=[c.sentence() for c in other if not (c.action == "added" and c.property is None)],
                           other_new=[c.sentence() for c in other if c.action == "added" and c.property is None])


@bp.get("/api/changes")
def as_json():
    result, chosen = current_diff(request.args.get("since", "").strip() or None)
    if result is None:
        return jsonify({"ok": True, "baseline": None, "note": chosen, "changes": []})
    return jsonify({**result.as_dict(), "baseline": chosen})


@bp.get("/changes/patch")
def patch():
    result, chosen = current_diff()
    text = result.to_patch() if result is not None else f"# {chosen}\n"
    return Response(text, mimetype="application/sparql-update")
