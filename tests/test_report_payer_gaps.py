"""payer_gaps from its report (server/reports/payer_gaps.py) equals its SPARQL: every payer,
with no day and on days at and beside the dates of the graph, on the shipped reference and on
a generated graph with injected violations."""

import pytest

import reports_diff as diff
from server.reports import payer_gaps

QUESTION = "payer_gaps"


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return diff.graphs(str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def dbs(graphs):
    return {name: diff.report_db(store, payer_gaps) for name, store in graphs.items()}


@pytest.mark.parametrize("graph,days", [("shipped", 10), ("generated", 4)])
def test_same_rows_as_the_sparql(graphs, dbs, graph, days):
    store, question = graphs[graph], diff.catalogue().get(QUESTION)
    sets = diff.param_sets(store, question, days=days)
    if graph == "generated":  # every third payer: a SPARQL answer takes ~0.1 s here
        sets = sets[::3]
    problems = [p for raw in sets if (p := diff.difference(store, dbs[graph], question, payer_gaps, raw))]
    assert problems == [], problems[:3]
    # The graph exercises the question: gaps on some days, none on others.
    sizes = [len(diff.whole(payer_gaps, dbs[graph], _bound(store, raw))) for raw in sets]
    assert max(sizes) > 10 and min(sizes) < max(sizes)


def _bound(store, raw):
    return diff.bind(store, diff.catalogue().get(QUESTION), raw)


def test_pages_are_prefixes(graphs, dbs):
    store, db = graphs["generated"], dbs["generated"]
    bindings = _bound(store, {"payer": "medicare"})
    rows = diff.whole(payer_gaps, db, bindings)
    assert len(rows) > 20
    assert diff.check_pages(payer_gaps, db, bindings, (1, 2, 10, len(rows) - 1, len(rows), len(rows) + 1)) == 4


def test_a_payer_unknown_to_the_graph_has_no_gaps(graphs, dbs):
    from server.rdf.terms import IRI

    rows, more = payer_gaps.answer(dbs["shipped"], {"payer": IRI("https://w3id.org/coderef/id/payer/nobody")}, 10)
    assert (rows, more) == ([], False)
