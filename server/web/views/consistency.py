"""The consistency page: per payer, how many findings each policy-team question returns.

Each count is the answer of a question in queries/ (the same SPARQL, the same as_of day),
grouped by payer here, and links to that question's page with the payer and day filled in,
so that the page can never say something the questions do not.
"""

from datetime import date

from flask import Blueprint, render_template, request, url_for

from ..extensions import get_store
from ...namespaces import ID
from ...questions import bind_value
from ..extensions import get_catalogue
from ...payers import payer_names


bp = Blueprint("consistency", __name__)


# (question, heading, columns that identify one finding, whether the question takes `payer`)
CHECKS = (
    ("family_inconsistencies", "At odds with the code family", ("position", "code", "familyCode", "otherPosition"), True),
    ("overlapping_policies", "Two policies on one code", ("policy", "otherPolicy", "code"), True),
    ("secondary_only_positions", "Positions on secondary sources only", ("position", "code"), True),
    ("payer_gaps", "Codes with no position", ("code",), True),
    ("coverage_conflicts", "Conflicting positions", ("kind", "position", "otherPosition", "policy"), False),
    ("stale_policies", "Policies due for a check", ("policy",), False),
)


def _counts(records, payer_column, key_columns) -> dict:
    """payer IRI -> number of distinct findings (a finding spans one row per source)."""
    found: dict = {}
    for r in records:
        payer = r.get(payer_column)
        if payer:
            found.setdefault(payer, set()).add(tuple(r.get(c) for c in key_columns))
    return {payer: len(keys) for payer, keys in found.items()}


def _gap_counts(records, payers) -> dict:
    """payer_gaps for every payer at once (one query instead of one per payer), from the
    coverage matrix of the same day: the codes another payer holds a position on, less the
    payer's own. tests/reference/test_consistency.py checks the two agree."""
    by_payer: dict = {}
    for r in records:
        if r.get("payer") and r.get("code"):
            by_payer.setdefault(r["payer"], set()).add(r["code"])

    def others(payer):
        return set().union(set(), *(codes for p, codes in by_payer.items() if p != payer))

    return {payer: len(others(payer) - by_payer.get(payer, set())) for payer in payers}


@bp.get("/consistency")
def consistency():
    catalogue, store = get_catalogue(), get_store()
    as_of = request.args.get("as_of", "").strip() or date.today().isoformat()
    day = {"as_of": as_of}
    bind_value(store, catalogue.get("stale_policies").param("as_of"), as_of)  # a bad day: 400 naming as_of

    payers = payer_names(store)
    iri_of = {slug: f"{ID}payer/{slug}" for slug, _ in payers}
    counts = {}
    for qid, _, keys, _ in CHECKS:
        if qid == "payer_gaps":
            counts[qid] = _gap_counts(catalogue.run(store, "coverage_matrix", day).records(), iri_of.values())
        else:
            counts[qid] = _counts(catalogue.run(store, qid, day).records(), "payer", keys)

    rows = []
    for slug, name in payers:
        iri = iri_of[slug]
        cells = []
        for qid, _, _, by_payer in CHECKS:
            n = counts[qid].get(iri, 0)
            params = {"payer": slug, **day} if by_payer else day
            cells.append({"count": n, "href": url_for("pages.question", question_id=qid, **params)})
        rows.append({"slug": slug, "name": name, "iri": iri, "cells": cells, "total": sum(c["count"] for c in cells)})
    rows.sort(key=lambda r: (-r["total"], r["name"].lower()))
    checks = [{"id": qid, "heading": heading, "summary": catalogue.get(qid).summary,
               "href": url_for("pages.question", question_id=qid, **day)} for qid, heading, _, _ in CHECKS]
    return render_template("consistency/index.html", as_of=as_of, checks=checks, rows=rows)
