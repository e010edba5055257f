"""The family_inconsistencies report: both kinds of row on the families graph, and the cases'
rows one by one. Its rows against its SPARQL: tests/reports/test_report_rows.py.

The shipped reference (its positions name every code of a family) gives the question no
row. The generated graph does: in half of its families the codes after the first are other
approaches to one procedure, and a quarter of the policy versions name only some of a
family's codes. Two more graphs give rows of every kind:

- families: the generated graph with every code family related as other approaches (the
  codes a policy names together), so that versions of a policy with other statuses, the
  injected conflicting positions (on one code of a family only), the versions that name
  only some codes and the gaps between versions (a version ends in December, the next
  starts later in the year) give rows of both kinds;
- cases: the shipped reference and a small synthetic Turtle file (support/report_cases.py) with what is
  rare there: a position in force under two policies with a gap between them, a replaced
  policy, month- and year-only dates, "any" and several clinical contexts, a position with
  two statuses or two payers, statuses not retrieved, a payer without a name, sources with
  and without titles, a family relation stated twice and one stated one way only.
"""

import pytest

from server.reports import family_inconsistencies as report
from support.reports_diff import bind, catalogue, param_sets, whole

QUESTION = catalogue().get("family_inconsistencies")





NO_POSITION = "no position on a code of the same family"


GRAPHS = {"shipped": "shipped", "generated": "generated", "families": "family_inconsistencies families",
          "cases": "family_inconsistencies cases"}


@pytest.fixture(scope="module")
def stores(report_graphs):
    return {short: report_graphs[name] for short, name in GRAPHS.items()}


@pytest.fixture(scope="module")
def dbs(report_db):
    return {short: report_db("family_inconsistencies", name) for short, name in GRAPHS.items()}


def bound(store, raw):
    return bind(store, QUESTION, raw)


def full(db, bindings):
    return whole(report, db, bindings)


def kinds(rows):
    return {row["kind"]["value"] for row in rows}


def test_families_give_both_kinds(stores, dbs):
    store, db = stores["families"], dbs["families"]
    rows = full(db, {})
    # without a day every version counts: a family's codes differ where a version names
    # only some of them, and where the statuses of versions differ
    assert kinds(rows) == {NO_POSITION, "different status on a code of the same family"}
    # each injected conflicting position (on one code of its family) differs from its siblings
    assert len({row["position"]["value"] for row in rows if row["position"]["value"].endswith("-conflicting")}) >= 3
    # between two versions of a policy the family is silent, while a conflicting position holds
    dated = [row for raw in param_sets(store, QUESTION, days=12) if "as_of" in raw and "payer" not in raw
             for row in full(db, bound(store, raw))]
    assert kinds(dated) == {NO_POSITION, "different status on a code of the same family"}
    assert any(row["position"]["value"].endswith("-conflicting") for row in dated if row["kind"]["value"] == NO_POSITION)


def pairs(stores, dbs, raw):
    """(kind, position, status, context, family code, other position) of the cases' rows."""
    def short(row, name):
        return row[name]["value"].rsplit("/", 1)[-1] if name in row else None

    return {(row["kind"]["value"][:2], short(row, "position"), short(row, "status"), short(row, "clinicalContext"),
             short(row, "familyNotation"), short(row, "otherPosition"))
            for row in full(dbs["cases"], bound(stores["cases"], raw))}


def test_cases(stores, dbs):
    # without a day every position counts: e9's payer states nothing on W9102, the rest differ
    assert pairs(stores, dbs, {}) == {
        ("di", "e1", "covered", "autologous", "W9102", "e2"), ("di", "e2", "not-covered", "autologous", "W9101", "e1"),
        ("di", "e2", "not-covered", "autologous", "W9103", "e8"),
        ("di", "e5", "investigational", "allogeneic", "W9103", "e8"),
        ("di", "e6", "covered", None, "W9101", "e7"), ("di", "e6", "not-covered", None, "W9101", "e7"),
        ("di", "e7", "clinical-trial-only", None, "W9103", "e6"), ("di", "e8", "covered", "allogeneic", "W9101", "e5"),
        ("no", "e9", "not-covered", None, "W9102", None)}
    # e1 is in force under p1 (2019) and p2 (2022), not between them nor once p2 is replaced
    assert ("di", "e1", "covered", "autologous", "W9102", "e2") in pairs(stores, dbs, {"as_of": "2019-07-01"})
    assert ("di", "e1", "covered", "autologous", "W9102", "e2") in pairs(stores, dbs, {"as_of": "2022-06-01"})
    gap = pairs(stores, dbs, {"as_of": "2020-12-01"})
    assert not any(p[1] == "e1" for p in gap)
    assert not any(p[1] == "e1" for p in pairs(stores, dbs, {"as_of": "2023-06-01"}))
    # ... and meanwhile e2 and e3 ("any" context) have no sibling in force on W9101
    assert {("no", "e2", "not-covered", "autologous", "W9101", None), ("no", "e3", "covered", "any", "W9101", None)} <= gap
    # once e7 has ended (a month-only end: the whole of June 2024), e8 in autologous is alone
    assert ("no", "e8", "covered", "autologous", "W9101", None) not in pairs(stores, dbs, {"as_of": "2024-06-30"})
    assert ("no", "e8", "covered", "autologous", "W9101", None) in pairs(stores, dbs, {"as_of": "2024-07-01"})
    # the unnamed payer: only its silence on W9102 (e8 and e9 meet in no context)
    assert pairs(stores, dbs, {"payer": "synthetic-unnamed", "as_of": "2024-07-01"}) == {
        ("no", "e9", "not-covered", None, "W9102", None)}
    # one row per pair of sources: e1's two against e2's one
    rows = full(dbs["cases"], bound(stores["cases"], {"as_of": "2019-07-01"}))
    assert sorted((row.get("sourceTitle", {}).get("value"), row["otherSource"]["value"][-8:]) for row in rows
                  if row["position"]["value"].endswith("/e1")) == [("Alpha", "untitled"), ("beta", "untitled")]
