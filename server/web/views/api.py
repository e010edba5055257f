"""The JSON API: questions, codes, search, payers, validation, and its OpenAPI description.

Every success carries "ok": true; every error is {"ok": false, "error", "status"} (the
app's error handlers, for all of /api/). Tabular answers also come as CSV.
"""

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request

from ...codes import describe_code, search_codes
from ...errors import BadRequest, NotAcceptable
from ..extensions import get_store
from ...questions import RESERVED_PARAMS
from ..extensions import get_catalogue
from ..paging import paging

bp = Blueprint("api", __name__, url_prefix="/api")

FORMATS = {"json": "application/json", "csv": "text/csv"}
# Rows of a JSON answer unless `limit` says otherwise; `next` links the following page.
JSON_PAGE = 1000


def _format(suffix: str | None) -> str:
    """json or csv: the URL suffix, then ?format=, then the Accept header."""
    wanted = suffix or request.args.get("format")
    if wanted:
        wanted = wanted.lower()
        if wanted not in FORMATS:
            raise NotAcceptable(f"format {wanted!r} is not offered here; use json or csv")
        return wanted
    if not request.accept_mimetypes.provided:
        return "json"
    best = request.accept_mimetypes.best_match(list(FORMATS.values()))
    if best is None:
        raise NotAcceptable("this answer comes as application/json or text/csv; the Accept header allows neither")
    return "csv" if best == "text/csv" else "json"


def question_summary(q) -> dict:
    return {**q.as_dict(), "url": f"/api/questions/{q.id}", "html": f"/questions/{q.id}"}


@bp.get("/questions")
def questions():
    return jsonify({"ok": True, "questions": [question_summary(q) for q in get_catalogue()]})


@bp.get("/questions/<qid>")
def question(qid):
    suffix = None
    for ext in FORMATS:
        if qid.endswith("." + ext):
            qid, suffix = qid[: -len(ext) - 1], ext
    fmt = _format(suffix)
    params = {k: v for k, v in request.args.items() if k not in RESERVED_PARAMS}
    catalogue, store = get_catalogue(), get_store()
    cap = store.settings["RESULT_CAP"]
    if fmt == "csv" and "limit" not in request.args and "offset" not in request.args:
        answer = catalogue.run(store, qid, params, gathered=True)  # an export: the whole (capped) answer
    else:
        offset, limit = paging(request.args, JSON_PAGE if fmt == "json" else cap, cap)
        answer = catalogue.page(store, qid, params, offset, limit, gathered=True)
    if fmt == "csv":
        response = Response(answer.as_csv(), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{answer.question.id}.csv"'
    else:
        response = jsonify({**answer.as_json(), "offset": offset, "limit": limit,
                            "next": page_url(offset + limit, limit) if answer.more else None})
    response.headers["X-Coderef-Truncated"] = "true" if answer.truncated else "false"
    return response


def page_url(offset: int, limit: int) -> str:
    """This request's address with another page's offset and limit."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")]
    return f"{request.path}?{urlencode([*args, ('offset', offset), ('limit', limit)])}"


@bp.get("/codes/<path:notation>")
def code(notation):
    return jsonify({"ok": True, "code": describe_code(get_store(), notation, get_catalogue())})


@bp.get("/search")
def search():
    q = request.args.get("q", "")
    limit = request.args.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise BadRequest("parameter 'limit' must be a whole number from 1 to 100")
    return jsonify({"ok": True, "q": q, "results": search_codes(get_store(), q, int(limit))})


def payers_list(store, catalogue) -> list[dict]:
    """Each payer with its parent organisation and policies, from the payer_policies question."""
    from ...codes import _add, _concept, _slug, _source

    payers, order = {}, []
    for r in catalogue.run(store, "payer_policies", {}).records():
        iri = r["payer"]
        if iri not in payers:
            order.append(iri)
            payers[iri] = {
                "slug": r.get("payerSlug") or _slug(iri), "iri": iri, "name": r.get("payerName"),
                "type": _concept(r.get("payerType"), r.get("payerTypeLabel")),
                "parent": {"iri": r["parent"], "slug": r.get("parentSlug") or _slug(r["parent"]),
                           "name": r.get("parentName")} if r.get("parent") else None,
                "policies": [],
            }
        if not r.get("policy"):
            continue
        policies = payers[iri]["policies"]
        policy = next((p for p in policies if p["iri"] == r["policy"]), None)
        if policy is None:
            policy = {"iri": r["policy"], "identifier": r.get("policyIdentifier"), "title": r.get("policyTitle"),
                      "lineOfBusiness": r.get("lineOfBusiness"), "effectiveDate": r.get("effectiveDate"),
                      "lastReviewed": r.get("lastReviewed"), "nextReview": r.get("nextReview"),
                      "endDate": r.get("endDate"), "confidence": _slug(r.get("confidence")), "sources": []}
            policies.append(policy)
        _add(policy["sources"], _source(r))
    return [payers[i] for i in order]


@bp.get("/payers")
def payers():
    return jsonify({"ok": True, "payers": payers_list(get_store(), get_catalogue())})


@bp.get("/openapi.json")
def openapi():
    from ..openapi import build

    return jsonify(build(get_catalogue(), request.url_root.rstrip("/")))


@bp.get("/validate")
def validate():
    from ...validate.engine import report_for

    return jsonify({"ok": True, **report_for(current_app.config).as_dict()})
