"""Virtuoso as a backend: `coderef load` fills a real Virtuoso through its authenticated
endpoint, a file a named graph, and the store reads it like the embedded one through the
dialect (server/store/dialect.py); its public endpoint takes no writes."""

import urllib.error
import urllib.request

import pytest

from server.cli import main as coderef
from server.errors import ConfigError
from server.graph.open import open_store
from server.rdf.terms import IRI, Literal
from server.rdf.dataset import GRAPH_BASE, graph_names
from server.store.dialect import dialect_of
from server.store.remote import RemoteStore
from server import config as cfg

CODE = IRI("https://w3id.org/coderef/id/cpt/0584T")
NOTATION = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?n WHERE { ?code skos:notation ?n }"


@pytest.fixture(scope="module")
def virtuoso(virtuoso_endpoint):
    return RemoteStore(virtuoso_endpoint)


@pytest.fixture(scope="module")
def embedded():
    return open_store({"STORE": "memory", "REPORTS": False})


def test_the_files_graphs_hold_the_reference(virtuoso, embedded):
    # The default dataset is their union, with the system graphs a new database holds.
    count = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), ?base)) }")
    rows = virtuoso.select(count, {"base": Literal(GRAPH_BASE)}).rows
    assert int(rows[0]["n"]["value"]) == len(embedded) > 3000
    assert len(virtuoso) > len(embedded)
    assert len(virtuoso.for_validation()) == len(embedded)


def test_each_file_is_a_named_graph_of_its_own(virtuoso):
    rows = virtuoso.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), ?base)) }",
                           {"base": Literal(GRAPH_BASE)}).rows
    graphs = {row["g"]["value"] for row in rows}
    assert graphs == {g.value for g in graph_names(cfg.data_files(cfg.resolve())).values()}


def test_bound_select_and_ask_answer_like_embedded(virtuoso, embedded):
    assert virtuoso.select(NOTATION, {"code": CODE}).rows == embedded.select(NOTATION, {"code": CODE}).rows
    ask = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> ASK { ?code skos:notation ?n }"
    assert virtuoso.ask(ask, {"code": CODE}) is True
    assert virtuoso.ask(ask, {"code": IRI("https://w3id.org/coderef/id/cpt/none")}) is False


def test_the_public_endpoint_takes_no_update(virtuoso_endpoint):
    request = urllib.request.Request(virtuoso_endpoint["SPARQL_ENDPOINT"], method="POST",
                                     data=b"INSERT DATA { GRAPH <urn:x> { <urn:a> <urn:b> <urn:c> } }",
                                     headers={"Content-Type": "application/sparql-update"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10).read()
    assert RemoteStore(virtuoso_endpoint).ask("ASK { GRAPH <urn:x> { ?s ?p ?o } }") is False


def test_load_without_the_password_is_refused_and_says_so(virtuoso_endpoint, monkeypatch, capsys):
    monkeypatch.setenv("CODEREF_SPARQL_DIALECT", "virtuoso")
    monkeypatch.delenv("CODEREF_SPARQL_USER", raising=False)
    assert coderef(["load", "--endpoint", virtuoso_endpoint["SPARQL_ENDPOINT"]]) != 0
    assert "401" in capsys.readouterr().err


def test_an_unknown_dialect_is_a_config_error():
    with pytest.raises(ConfigError, match="SPARQL_DIALECT is 'virtuso'; use one of standard, virtuoso"):
        dialect_of({"SPARQL_DIALECT": "virtuso"})
