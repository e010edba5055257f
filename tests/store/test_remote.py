"""The remote store: the same answers as the embedded one, bindings that stay data, clear
failures when the endpoint is down, slow or refuses us; and `coderef load`."""

import base64
import http.server
import json
import socket
import threading

import pyoxigraph as ox
import pytest

from support.oxigraph_server import OxigraphServer
from server import create_app
from server.cli import main as coderef
from server.errors import BadRequest, QueryTimeout, StoreUnavailable
from server.web.extensions import get_store
from server.sparql.text import inject_values, query_form
from server.store.remote import RemoteStore
from server.graph.open import open_store
from server.rdf.terms import IRI, Literal
from server.store.embedded import EmbeddedStore

CR = "https://w3id.org/coderef/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
CODE = IRI("https://w3id.org/coderef/id/cpt/0584T")
HOSTILE = 'x"} } ; DROP ALL ; # \\ \n <http://evil> \'\'\' """'

SMALL = f"""
@prefix skos: <{SKOS}> .
@prefix ex: <http://example.org/> .
ex:a skos:notation "A1" ; skos:prefLabel "Alpha"@en ; ex:n 3 ; ex:rel ex:b .
ex:b skos:notation "B2" ; skos:prefLabel "Beta"@en ; ex:n 5 ; ex:rel ex:c .
ex:c skos:notation "C3" ; skos:prefLabel {json.dumps(HOSTILE)} ; ex:n 7 .
"""

# Queries with braces, '#' and keywords where only a real tokenizer tells structure from text.
INJECTION_CASES = {
    "plain": ("SELECT ?s ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }", {"s": IRI("http://example.org/a")}),
    "brace-in-string": ('SELECT ?s ?o WHERE { ?s ?p ?o FILTER(?o != "{ } #") }', {"s": IRI("http://example.org/b")}),
    "comment-with-brace": ("# { SELECT\nPREFIX ex: <http://example.org/#x>\nSELECT * # }\nWHERE { ?s ?p ?o }", {"o": Literal("B2")}),
    "exists-in-projection": ("SELECT ?s (EXISTS { ?s <http://example.org/rel> ?x } AS ?e) WHERE { ?s <http://example.org/n> ?n }", {"n": Literal("5", "http://www.w3.org/2001/XMLSchema#integer")}),
    "subquery": ("SELECT ?s ?m WHERE { ?s <http://example.org/rel> ?t { SELECT ?t (MAX(?n) AS ?m) WHERE { ?t <http://example.org/n> ?n } GROUP BY ?t } }", {"s": IRI("http://example.org/a")}),
    "optional-and-lang": ("SELECT ?s ?l WHERE { ?s <http://www.w3.org/2004/02/skos/core#notation> ?nt OPTIONAL { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?l } }", {"l": Literal("Alpha", lang="en")}),
    "hostile-literal": ("SELECT ?s ?l WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }", {"l": Literal(HOSTILE)}),
    "ask": ("ASK WHERE { ?s <http://example.org/rel> ?o }", {"s": IRI("http://example.org/c")}),
    "construct": ("CONSTRUCT { ?s <http://example.org/seen> ?o } WHERE { ?s ?p ?o }", {"s": IRI("http://example.org/a")}),
    "construct-where": ("CONSTRUCT WHERE { ?s ?p ?o }", {"s": IRI("http://example.org/b")}),
}


@pytest.fixture(scope="module")
def small_store():
    store = ox.Store()
    store.load(SMALL.encode(), ox.RdfFormat.TURTLE)
    return EmbeddedStore(store)


def answers(store: EmbeddedStore, query: str, bindings=None):
    form = query_form(query)
    if form == "SELECT":
        return sorted(json.dumps(row, sort_keys=True) for row in store.select(query, bindings).rows)
    if form == "ASK":
        return store.ask(query, bindings)
    return sorted(map(str, store.construct(query, bindings)))


@pytest.mark.parametrize("case", INJECTION_CASES, ids=str)
def test_values_block_gives_the_answers_of_substitution(small_store, case):
    query, bindings = INJECTION_CASES[case]
    injected = inject_values(query, bindings)
    assert injected != query
    assert answers(small_store, injected) == answers(small_store, query, bindings)


def test_a_tuple_binds_a_column_of_rows(small_store):
    """An icd10cm-list binds columns (binding.bind_list): one row per item, single values repeated."""
    query = "SELECT ?s ?l WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }"
    a, b, c = (IRI(f"http://example.org/{x}") for x in "abc")
    both = {"s": (a, b), "l": Literal("Beta", lang="en")}
    assert [r["s"]["value"] for r in small_store.select(query, both).rows] == ["http://example.org/b"]
    assert sorted(r["s"]["value"] for r in small_store.select(query, {"s": (a, c)}).rows) == [a.value, c.value]
    assert "VALUES (?s) { (<http://example.org/a>) (<http://example.org/c>) }" in inject_values(query, {"s": (a, c)})
    assert small_store.select(query, {"s": ()}).rows == []
    with pytest.raises(BadRequest):
        inject_values(query, {"s": (a, b), "l": (Literal("Beta", lang="en"),)})


def test_embedded_binds_a_variable_it_does_not_project(small_store):
    rows = small_store.select("SELECT ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }", {"s": IRI("http://example.org/b")}).rows
    assert rows == [{"label": {"type": "literal", "value": "Beta", "xml:lang": "en"}}]


def test_hostile_literal_binds_as_one_value(small_store):
    query, bindings = INJECTION_CASES["hostile-literal"]
    rows = small_store.select(inject_values(query, bindings)).rows
    assert [r["s"]["value"] for r in rows] == ["http://example.org/c"]
    assert rows[0]["l"]["value"] == HOSTILE
    assert len(small_store) == 11  # nothing dropped


@pytest.mark.parametrize("bindings", [{"bad name": IRI("http://x")}, {"s": IRI("http://x> . }")}, {"s": "plain text"}])
def test_unbindable_values_are_refused(bindings):
    with pytest.raises((BadRequest, TypeError)):
        inject_values("SELECT * WHERE { ?s ?p ?o }", bindings)


@pytest.mark.parametrize("update", ["INSERT DATA { <http://a> <http://b> <http://c> }", "DROP ALL", "PREFIX x: <http://x#> DELETE WHERE { ?s ?p ?o }"])
def test_updates_are_never_sent(update):
    # The endpoint is a closed port: a BadRequest (not StoreUnavailable) proves no request left.
    store = RemoteStore({"SPARQL_ENDPOINT": f"http://127.0.0.1:{closed_port()}/query"})
    with pytest.raises(BadRequest, match="expected a SPARQL query"):
        store.select(update, {"s": CODE})


# ------------------------------------------------------------------ against a real Oxigraph server

@pytest.fixture(scope="module")
def remote(oxigraph_endpoint):
    return RemoteStore({"SPARQL_ENDPOINT": oxigraph_endpoint})


@pytest.fixture(scope="module")
def embedded():
    return open_store({})


SAME_ANSWERS = {
    "labels-of-a-code": (f"SELECT ?p ?o WHERE {{ ?code ?p ?o }}", {"code": CODE}),
    "plain-literal-lookup": (f"SELECT ?code WHERE {{ ?code <{SKOS}notation> ?n }}", {"n": Literal("0584T")}),
    "typed-and-lang": (f"SELECT ?code ?label (STRLEN(?label) AS ?len) (LANG(?label) AS ?lang) WHERE {{ ?code <{SKOS}prefLabel> ?label }}", None),
    "aggregate": (f"SELECT ?class (COUNT(?s) AS ?n) WHERE {{ ?s a ?class }} GROUP BY ?class", None),
    "optional-unbound": (f"SELECT ?s ?alt WHERE {{ ?s <{SKOS}notation> ?n OPTIONAL {{ ?s <{SKOS}altLabel> ?alt }} }}", None),
    "ask-true": (f"ASK {{ ?code <{SKOS}notation> ?n }}", {"code": CODE}),
    "ask-false": (f"ASK {{ ?code <{SKOS}notation> ?n }}", {"code": IRI("https://w3id.org/coderef/id/cpt/00000")}),
    "construct": ("CONSTRUCT WHERE { ?code ?p ?o }", {"code": CODE}),
    "describe": ("DESCRIBE ?code WHERE { ?code ?p ?o }", {"code": CODE}),
}


@pytest.mark.parametrize("case", SAME_ANSWERS, ids=str)
def test_remote_answers_like_embedded(remote, embedded, case):
    query, bindings = SAME_ANSWERS[case]
    expected = answers(embedded, query, bindings)
    assert expected not in ([], None)
    assert answers(remote, query, bindings) == expected


def test_columns_and_cap_like_embedded(remote, embedded):
    query = f"SELECT ?code ?n WHERE {{ ?code <{SKOS}notation> ?n }} ORDER BY ?n"
    a, b = remote.select(query, cap=3), embedded.select(query, cap=3)
    assert (a.columns, a.rows, a.truncated) == (b.columns, b.rows, b.truncated) == (["code", "n"], b.rows, True)
    assert len(remote) == len(embedded)


def test_wrong_query_form_and_malformed_query(remote):
    with pytest.raises(BadRequest, match="expected a SELECT query"):
        remote.select("ASK { ?s ?p ?o }")
    with pytest.raises(BadRequest, match="malformed SPARQL"):
        remote.select("SELECT ?s WHERE { ?s ?p }")


# ------------------------------------------------------------------ failures

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on return: nothing listens


def test_endpoint_down_is_store_unavailable():
    url = f"http://127.0.0.1:{closed_port()}/query"
    with pytest.raises(StoreUnavailable, match="is unreachable") as err:
        RemoteStore({"SPARQL_ENDPOINT": url}).select("SELECT * WHERE { ?s ?p ?o }")
    assert url in str(err.value)


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/query"
    sock.close()


def test_slow_endpoint_times_out(silent_server):
    store = RemoteStore({"SPARQL_ENDPOINT": silent_server, "QUERY_TIMEOUT": 0.3})
    with pytest.raises(StoreUnavailable, match="did not answer within 0.3 s") as err:
        store.ask("ASK { ?s ?p ?o }")
    assert isinstance(err.value, QueryTimeout)


def test_app_answers_503_when_endpoint_is_down():
    app = create_app({"TESTING": True, "SPARQL_ENDPOINT": f"http://127.0.0.1:{closed_port()}/query"})

    @app.get("/api/test-probe")
    def probe():
        return {"rows": len(get_store().select("SELECT * WHERE { ?s ?p ?o }").rows)}

    response = app.test_client().get("/api/test-probe")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 503 and "unreachable" in body["error"]


class AuthEndpoint(http.server.BaseHTTPRequestHandler):
    """Answers one canned SELECT result, like Virtuoso would, to the right credentials only."""

    expected = "Basic " + base64.b64encode(b"coder:s3cret").decode()
    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="sparql"')
            self.end_headers()
            return
        from urllib.parse import parse_qs

        self.seen.append(parse_qs(body.decode())["query"][0])
        answer = {"head": {"vars": ["n", "label"]}, "results": {"bindings": [{
            "n": {"type": "typed-literal", "value": "0584T", "datatype": "http://www.w3.org/2001/XMLSchema#string"},
            "label": {"type": "literal", "value": "islet", "xml:lang": "en"},
        }]}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def auth_endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AuthEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    AuthEndpoint.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    server.shutdown()
    server.server_close()


def test_basic_auth_and_foreign_literal_forms(auth_endpoint):
    settings = {"SPARQL_ENDPOINT": auth_endpoint, "SPARQL_USER": "coder", "SPARQL_PASSWORD": "s3cret"}
    result = RemoteStore(settings).select("SELECT ?n ?label WHERE { ?code ?p ?n }", {"code": CODE, "label": Literal(HOSTILE)})
    assert result.rows == [{"n": {"type": "literal", "value": "0584T"}, "label": {"type": "literal", "value": "islet", "xml:lang": "en"}}]
    # What went over the wire is a valid query that binds the hostile text as one literal.
    sent = AuthEndpoint.seen[0]
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode(CODE.value), ox.NamedNode("http://p"), ox.Literal("0584T")))
    rows = list(store.query(sent))
    assert [r["label"].value for r in rows] == [HOSTILE]

    with pytest.raises(StoreUnavailable, match="refused the credentials"):
        RemoteStore({**settings, "SPARQL_PASSWORD": "wrong"}).select("SELECT * WHERE { ?s ?p ?o }")


# ------------------------------------------------------------------ coderef load

@pytest.fixture
def scratch(tmp_path):
    """An empty Oxigraph server of this test's own."""
    with OxigraphServer(tmp_path / "scratch") as server:
        yield server


def count(url: str, graph: str | None = None) -> int:
    pattern = "{ ?s ?p ?o }" if graph is None else f"{{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    return int(RemoteStore({"SPARQL_ENDPOINT": url}).select(f"SELECT (COUNT(*) AS ?n) WHERE {pattern}").rows[0]["n"]["value"])


def graphs(url: str) -> dict:
    rows = RemoteStore({"SPARQL_ENDPOINT": url}).select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").rows
    return {r["g"]["value"]: int(r["n"]["value"]) for r in rows}


def embedded_graphs(root) -> dict:
    store = open_store({"ROOT": str(root)})
    rows = store.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").rows
    return {r["g"]["value"]: int(r["n"]["value"]) for r in rows}


@pytest.mark.parametrize("via", ["gsp", "update"])
def test_load_puts_each_file_in_its_graph_as_embedded(scratch, root_copy, via):
    url = scratch.query_url
    expected = embedded_graphs(root_copy)
    assert "https://w3id.org/coderef/graph/payers" in expected and len(expected) >= 15
    assert coderef(["load", "--root", str(root_copy), "--endpoint", url, "--via", via]) == 0
    assert coderef(["load", "--root", str(root_copy), "--endpoint", url, "--via", via]) == 0
    assert graphs(url) == expected  # each replaced, not added to
    assert count(url) == sum(expected.values())  # the union, as the default graph
    # A file gone: its graph goes with it at the next load.
    (root_copy / "data" / "products.ttl").unlink()
    assert coderef(["load", "--root", str(root_copy), "--endpoint", url, "--via", via]) == 0
    assert "https://w3id.org/coderef/graph/products" not in graphs(url)
    assert graphs(url) == embedded_graphs(root_copy)


def test_load_into_one_graph(scratch, root_copy):
    url = scratch.query_url
    expected = len(open_store({"ROOT": str(root_copy)}))
    for _ in range(2):
        assert coderef(["load", "--root", str(root_copy), "--endpoint", url, "--via", "update",
                        "--graph", "https://example.org/one"]) == 0
    assert graphs(url) == {"https://example.org/one": expected}
    assert coderef(["load", "--root", str(root_copy), "--endpoint", url, "--graph", "default"]) == 0
    assert count(url) == 2 * expected  # the union: the default graph and the named one


def test_load_refuses_a_parse_error_and_sends_nothing(scratch, root_copy, capsys):
    url = scratch.query_url
    assert coderef(["load", "--root", str(root_copy), "--endpoint", url]) == 0
    before = count(url)
    broken = root_copy / "data" / "zz-broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e \"unclosed .\n")
    assert coderef(["load", "--root", str(root_copy), "--endpoint", url]) == 2
    assert "zz-broken.ttl, line 3" in capsys.readouterr().err
    assert count(url) == before


@pytest.mark.parametrize("args, message", [
    (["--graph", "not an iri"], "--graph must be 'files', 'default' or an absolute IRI"),
    (["--via", "gsp"], "cannot tell the Graph Store Protocol URL"),
])
def test_load_refuses_bad_arguments(root_copy, args, message, capsys):
    endpoint = f"http://127.0.0.1:{closed_port()}/sparql"
    assert coderef(["load", "--root", str(root_copy), "--endpoint", endpoint, *args]) == 2
    assert message in capsys.readouterr().err


def test_load_to_a_down_endpoint_says_so(root_copy, capsys):
    endpoint = f"http://127.0.0.1:{closed_port()}/query"
    assert coderef(["load", "--root", str(root_copy), "--endpoint", endpoint]) == 2
    assert "unreachable" in capsys.readouterr().err
