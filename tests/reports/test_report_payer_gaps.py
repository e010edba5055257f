"""payer_gaps from its report (server/reports/payer_gaps.py): pages of a long answer, and a
payer the graph does not know. Its rows against its SPARQL: tests/reports/test_report_rows.py."""

from server.reports import payer_gaps
from support import reports_diff as diff

QUESTION = "payer_gaps"


def _bound(store, raw):
    return diff.bind(store, diff.catalogue().get(QUESTION), raw)


def test_pages_are_prefixes(report_graphs, report_db):
    store, db = report_graphs["generated"], report_db(QUESTION, "generated")
    bindings = _bound(store, {"payer": "medicare"})
    rows = diff.whole(payer_gaps, db, bindings)
    assert len(rows) > 20
    assert diff.check_pages(payer_gaps, db, bindings, (1, 2, 10, len(rows) - 1, len(rows), len(rows) + 1)) == 4


def test_a_payer_unknown_to_the_graph_has_no_gaps(report_db):
    from server.rdf.terms import IRI

    rows, more = payer_gaps.answer(report_db(QUESTION, "shipped"),
                                   {"payer": IRI("https://w3id.org/coderef/id/payer/nobody")}, 10)
    assert (rows, more) == ([], False)
