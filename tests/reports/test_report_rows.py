"""Every report gives its question's rows, in its order, and a capped answer is a prefix of
the whole: one list, CASES, drives the differential check of every report on its graphs.

For each case, the harness (support.reports_diff) makes the parameter sets worth checking
(every payer and none, days on and beside the dates of the graph), the report answers each
and the question's SPARQL answers each, and the two must agree; then `expect` checks that
the graph exercises the question (the answers differ from set to set, ...). A report's own
further checks are in tests/reports/test_report_<id>.py.
"""

from dataclasses import dataclass

import pytest

from server import reports
from support import reports_diff as rd

AGES = ({"max_age_days": "0"}, {"max_age_days": "30"}, {"max_age_days": "3650"})


def varied(least: int):
    """Some answer has more than `least` rows and the answers are not all of one size."""
    def check(answers, case):
        sizes = [len(a) for a in answers]
        assert max(sizes) > least and min(sizes) < max(sizes), sizes[:20]
    return check


def mostly_some(answers, case):
    sizes = [len(a) for a in answers]
    assert sum(n > 0 for n in sizes) > len(sizes) // 2, "most days should find some conflict"
    assert len(set(sizes)) > 1, "the day should change the answer"


def every_reason(unbound: bool):
    """Every reason shows up; an unbound one only where a next review is no day."""
    def check(answers, case):
        found = {r.get("reason", {}).get("value") for a in answers for r in a}
        assert found >= {"next review date passed", "no review date", "last review older than the limit"}
        assert (None in found) == unbound
    return check


def none_answered(answers, case):
    assert not any(answers), "a family's codes share their positions there"


def some_answered(least: int):
    """Policy versions that name only some of a family's codes give rows."""
    def check(answers, case):
        answered = sum(1 for a in answers if a)
        assert answered > least, answered
    return check


def busiest_payers(db, n=3):
    """Slugs of the payers with the most family_inconsistencies rows."""
    return [payer.rsplit("/", 1)[-1] for (payer,) in db.execute(
        "SELECT payer_iri FROM family_inconsistencies GROUP BY payer_iri ORDER BY COUNT(*) DESC, payer_iri LIMIT ?",
        (n,))]


def busiest_too(sets, store, db, question):
    """More days for no payer and for the busiest payers (a question run without a payer
    takes half a second on the families graph)."""
    busiest = busiest_payers(db)
    return sets + [raw for raw in rd.param_sets(store, question, days=12)
                   if raw.get("payer") in busiest + [None] and raw not in sets]


@dataclass(frozen=True)
class Case:
    report: str  # the question id, which names its report module
    graph: str  # a graph of the report_graphs fixture
    days: int  # days per payer, as the harness spreads them over the graph's dates
    more_than: int = 0  # the parameter sets must be more than this many
    every: int = 1  # check every n-th set only (where the SPARQL is slow)
    extra: tuple = ()  # parameter sets crossed with the harness's
    days_from: str | None = None  # take the days from this graph instead (the cases alone)
    widen: object = None  # widen(sets, store, db, question) -> sets
    expect: object = None  # expect(answers, case): the graph exercises the question
    caps: tuple = ()  # page sizes checked on the sets of `page_days` days
    page_days: int = 8
    must_cut: bool = False  # some capped answer must be cut

    @property
    def id(self) -> str:
        return f"{self.report}-{self.graph.rsplit(' ', 1)[-1]}"


CASES = [
    Case("payer_gaps", "shipped", 10, expect=varied(10)),
    Case("payer_gaps", "generated", 4, every=3, expect=varied(10)),
    Case("coverage_conflicts", "shipped", 400, more_than=20, expect=mostly_some, caps=(1, 2, 3, 5, 10)),
    Case("coverage_conflicts", "generated", 85, more_than=20, expect=mostly_some, caps=(1, 2, 3, 5, 10),
         must_cut=True),
    Case("coverage_conflicts", "coverage_conflicts cases", 400, more_than=20, expect=mostly_some,
         caps=(1, 2, 3, 5, 10), must_cut=True),
    Case("stale_policies", "shipped", 25, more_than=100, extra=AGES, expect=every_reason(False)),
    Case("stale_policies", "generated", 12, more_than=48, extra=AGES, expect=every_reason(False)),
    Case("stale_policies", "stale_policies unusual", 25, more_than=100, extra=(*AGES, {"max_age_days": "999999999"}),
         expect=every_reason(True)),
    Case("family_inconsistencies", "shipped", 20, more_than=40, expect=none_answered),
    Case("family_inconsistencies", "generated", 4, more_than=40, expect=some_answered(20)),
    Case("family_inconsistencies", "family_inconsistencies families", 3, more_than=40, widen=busiest_too,
         expect=some_answered(20), caps=(1, 2, 3, 10, 100), page_days=6, must_cut=True),
    Case("family_inconsistencies", "family_inconsistencies cases", 1000, more_than=40,
         days_from="family_inconsistencies cases alone", expect=some_answered(20),
         caps=(1, 2, 3, 10, 100), page_days=6, must_cut=True),
]


def test_every_report_has_cases():
    assert {c.report for c in CASES} == set(reports.modules())


def parameter_sets(case, report_graphs, report_db):
    question = rd.catalogue().get(case.report)
    store = report_graphs[case.graph]
    sets = rd.param_sets(report_graphs[case.days_from or case.graph], question, days=case.days, extra=case.extra)
    if case.widen:
        sets = case.widen(sets, store, report_db(case.report, case.graph), question)
    return sets[::case.every]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_same_rows_as_the_question(case, report_graphs, report_db):
    question, module = rd.catalogue().get(case.report), reports.modules()[case.report]
    store, db = report_graphs[case.graph], report_db(case.report, case.graph)
    sets = parameter_sets(case, report_graphs, report_db)
    assert len(sets) > case.more_than
    differences = [d for raw in sets if (d := rd.difference(store, db, question, module, raw))]
    assert not differences, "\n".join(differences[:3])
    if case.expect:
        case.expect([rd.whole(module, db, rd.bind(store, question, raw)) for raw in sets], case)


@pytest.mark.parametrize("case", [c for c in CASES if c.caps], ids=lambda c: c.id)
def test_pages_are_prefixes(case, report_graphs, report_db):
    question, module = rd.catalogue().get(case.report), reports.modules()[case.report]
    store, db = report_graphs[case.graph], report_db(case.report, case.graph)
    checked = sum(rd.check_pages(module, db, rd.bind(store, question, raw), case.caps)
                  for raw in rd.param_sets(store, question, days=case.page_days))
    assert checked or not case.must_cut, "some answer should be cut by a small cap"
