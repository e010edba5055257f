"""/sparql and `coderef sparql`: the SPARQL 1.1 Protocol over both stores, read-only.

SPARQLWrapper is the client against a real server on 127.0.0.1; the Flask test client
covers what SPARQLWrapper cannot send. Refused queries point their IRIs at a TCP listener
on 127.0.0.1 that records every connection: a refusal must leave it untouched.
"""

import csv
import io
import json
import urllib.error
from urllib.parse import quote

import pyoxigraph as ox
import pytest
from SPARQLWrapper import CSV, JSON, POST, POSTDIRECTLY, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper import SPARQLExceptions as sw_errors

from server import create_app
from support.errors import assert_error
from support.listener import Listener
from support.serving import served
from server.cli import main as coderef

SKOS = "http://www.w3.org/2004/02/skos/core#"
CR = "https://w3id.org/coderef/ontology#"
CPT = "https://w3id.org/coderef/id/cpt/"

# The three approaches of the family (fact sheet: 0584T percutaneous, 0585T laparoscopic,
# 0586T open).
FAMILY = f"""PREFIX skos: <{SKOS}>
SELECT ?code ?notation WHERE {{
  VALUES ?code {{ <{CPT}0584T> <{CPT}0585T> <{CPT}0586T> }}
  ?code skos:notation ?notation .
}} ORDER BY ?notation"""
FAMILY_NOTATIONS = ["0584T", "0585T", "0586T"]
ASK_0584T = f'ASK {{ <{CPT}0584T> <{SKOS}notation> "0584T" }}'
ASK_NONE = f'ASK {{ <{CPT}0584T> <{SKOS}notation> "not a notation" }}'
DESCRIBE_0584T = f"DESCRIBE <{CPT}0584T>"
CONSTRUCT_FAMILY = f"""PREFIX skos: <{SKOS}>
CONSTRUCT {{ ?code skos:notation ?notation }} WHERE {{
  VALUES ?code {{ <{CPT}0584T> <{CPT}0585T> <{CPT}0586T> }} ?code skos:notation ?notation }}"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server_url(app):
    """The app behind a real HTTP server on 127.0.0.1; the /sparql URL."""
    with served(app) as base:
        yield base + "/sparql"


@pytest.fixture
def listener():
    lis = Listener()
    yield lis
    lis.close()


def wrapper(url: str, query: str, fmt=JSON, method=None) -> SPARQLWrapper:
    sparql = SPARQLWrapper(url)
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    if method:
        sparql.setMethod(POST)
        sparql.setRequestMethod(method)
    return sparql


# ---------------------------------------------------------------- answers, through SPARQLWrapper


@pytest.mark.parametrize("method", [None, "urlencoded", POSTDIRECTLY], ids=["get", "post-form", "post-direct"])
def test_select_json_over_every_protocol_method(server_url, method):
    sparql = wrapper(server_url, FAMILY, JSON, method if method != "urlencoded" else "urlencoded")
    answer = sparql.queryAndConvert()
    assert answer["head"]["vars"] == ["code", "notation"]
    rows = answer["results"]["bindings"]
    assert [r["notation"]["value"] for r in rows] == FAMILY_NOTATIONS
    assert rows[0]["code"] == {"type": "uri", "value": CPT + "0584T"}


def test_select_xml(server_url):
    document = wrapper(server_url, FAMILY, XML).queryAndConvert()
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]
    assert literals == FAMILY_NOTATIONS
    assert [v.getAttribute("name") for v in document.getElementsByTagName("variable")] == ["code", "notation"]


def test_select_csv_and_tsv(server_url):
    rows = list(csv.reader(io.StringIO(wrapper(server_url, FAMILY, CSV).queryAndConvert().decode("utf-8"))))
    assert rows == [["code", "notation"]] + [[CPT + n, n] for n in FAMILY_NOTATIONS]
    lines = wrapper(server_url, FAMILY, TSV).queryAndConvert().decode("utf-8").splitlines()
    assert lines[0] == "?code\t?notation"
    assert lines[1] == f'<{CPT}0584T>\t"0584T"'


def test_ask_true_and_false(server_url):
    assert wrapper(server_url, ASK_0584T).queryAndConvert()["boolean"] is True
    assert wrapper(server_url, ASK_NONE).queryAndConvert()["boolean"] is False


def test_construct_and_describe_as_turtle(server_url):
    body = wrapper(server_url, CONSTRUCT_FAMILY, TURTLE).queryAndConvert()
    assert sorted(q.object.value for q in ox.parse(body, format=ox.RdfFormat.TURTLE)) == FAMILY_NOTATIONS
    body = wrapper(server_url, DESCRIBE_0584T, TURTLE).queryAndConvert()
    described = {(q.subject.value, q.predicate.value, q.object.value) for q in ox.parse(body, format=ox.RdfFormat.TURTLE)}
    assert (CPT + "0584T", SKOS + "notation", "0584T") in described
    assert (CPT + "0584T", CR + "codeSystem", "https://w3id.org/coderef/id/scheme/cpt-category-iii") in described


@pytest.mark.parametrize("accept,fmt", [("text/turtle", ox.RdfFormat.TURTLE),
                                        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
                                        ("application/ld+json", ox.RdfFormat.JSON_LD),
                                        ("application/rdf+xml", ox.RdfFormat.RDF_XML)])
def test_graph_formats_by_accept(client, accept, fmt):
    response = client.get("/sparql", query_string={"query": CONSTRUCT_FAMILY}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == accept
    body = response.get_data()
    if accept == "application/ld+json":
        assert "@context" not in json.loads(body)[0]  # expanded: no context to fetch
    triples = {(q.subject.value, q.object.value) for q in ox.parse(body, format=fmt)}
    assert triples == {(CPT + n, n) for n in FAMILY_NOTATIONS}


@pytest.mark.parametrize("name,media", [("json", "application/sparql-results+json"), ("xml", "application/sparql-results+xml"),
                                        ("csv", "text/csv"), ("tsv", "text/tab-separated-values")])
def test_format_parameter_beats_accept(client, name, media):
    response = client.get("/sparql", query_string={"query": FAMILY, "format": name}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == media
    assert "0586T" in response.get_data(as_text=True)


def test_nothing_acceptable_is_406(client):
    assert_error(client.get("/sparql", query_string={"query": FAMILY}, headers={"Accept": "image/png"}), 406)
    assert_error(client.get("/sparql", query_string={"query": FAMILY, "format": "turtle"}), 406)
    assert_error(client.get("/sparql", query_string={"query": CONSTRUCT_FAMILY, "format": "csv"}), 406)


def test_malformed_query_is_400_with_the_parsers_message(server_url, client):
    with pytest.raises(sw_errors.QueryBadFormed) as caught:
        wrapper(server_url, "SELECT * WHERE { ?s ?p ").queryAndConvert()
    assert "malformed SPARQL" in str(caught.value)
    error = assert_error(client.get("/sparql", query_string={"query": "SELECT ?x WHERE { ?x ?p }"}), 400)
    assert "malformed SPARQL" in error and "col" in error  # where the parser stopped


def test_protocol_errors(client):
    assert_error(client.post("/sparql", data=FAMILY, content_type="text/plain"), 415)
    assert_error(client.get(f"/sparql?query={quote(ASK_0584T)}&query={quote(ASK_NONE)}"), 400)
    assert_error(client.get("/sparql", query_string={"query": "   "}), 400)


def test_a_literal_naming_refused_keywords_is_only_text(client):
    query = 'SELECT ?x WHERE { BIND("SERVICE <http://127.0.0.1:9/> FROM NAMED LOAD INSERT" AS ?x) }'
    response = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert response.get_json()["results"]["bindings"][0]["x"]["value"].startswith("SERVICE <http")


# ---------------------------------------------------------------- refusals, never executed


def refused_queries(url: str) -> dict:
    return {
        "service": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "service-silent-lowercase": f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "service-nested": f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ {{ SERVICE <{url}> {{ ?s ?q ?r }} }} }} }} LIMIT 1",
        "load": f"LOAD <{url}>",
        "load-into": f"LOAD SILENT <{url}> INTO GRAPH <urn:coderef:g>",
        "insert-data": "INSERT DATA { <urn:coderef:x> <urn:coderef:y> <urn:coderef:z> }",
        "delete-where": "DELETE WHERE { ?s ?p ?o }",
        "drop-all": "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> DROP ALL",
        "update-then-query": f"INSERT DATA {{ <urn:coderef:x> <urn:coderef:y> <urn:coderef:z> }} ; LOAD <{url}>",
        # rdflib expands \\u escapes before parsing and Oxigraph does not: here rdflib
        # alone would see a comment end and a string swallow the SERVICE.
        "escape-in-comment": ("SELECT * WHERE { # \\u000a BIND(\"\"\"\n"
                              f"SERVICE <{url}> {{ ?a ?b ?c }} # \"\"\" AS ?x)\n}}"),
        # Oxigraph ends a comment at a carriage return, rdflib at a newline only.
        "carriage-return-in-comment": f"SELECT * WHERE {{ # comment\r SERVICE <{url}> {{ ?a ?b ?c }}\n}}",
    }


REFUSED = list(refused_queries("http://127.0.0.1:9/"))


def test_the_listener_sees_an_engine_that_reaches_out(listener):
    """The probe can fail: Oxigraph, unguarded, does call a SERVICE IRI."""
    with pytest.raises(Exception):  # noqa: B017 (the listener hangs up: any error)
        list(ox.Store().query(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))
    assert listener.connections == 1


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("how", ["get", "post-form", "post-direct"])
def test_refused_and_never_executed(client, store, listener, name, how):
    query = refused_queries(listener.url)[name]
    if how == "get":
        response = client.get("/sparql", query_string={"query": query})
    elif how == "post-form":
        response = client.post("/sparql", data={"query": query})
    else:
        response = client.post("/sparql", data=query.encode("utf-8"), content_type="application/sparql-query")
    error = assert_error(response, 403)
    assert "refused" in error
    assert listener.quiet_for()
    assert not store.ask("ASK { <urn:coderef:x> ?p ?o }")


@pytest.mark.parametrize("how", ["update-param-get", "update-param-form", "update-direct"])
def test_update_parameters_refused(client, store, listener, how):
    load = f"LOAD <{listener.url}>"
    if how == "update-param-get":
        response = client.get("/sparql", query_string={"update": load})
    elif how == "update-param-form":
        response = client.post("/sparql", data={"update": load})
    else:
        response = client.post("/sparql", data=load, content_type="application/sparql-update")
    assert_error(response, 403)
    assert listener.quiet_for()


def test_refused_through_sparqlwrapper(server_url, listener):
    sparql = wrapper(server_url, refused_queries(listener.url)["service"])
    with pytest.raises(urllib.error.HTTPError) as caught:  # SPARQLWrapper passes a 403 on as it is
        sparql.queryAndConvert()
    assert caught.value.code == 403
    assert "SERVICE is refused" in json.loads(caught.value.read())["error"]
    assert listener.quiet_for()


# ---------------------------------------------------------------- the cap


@pytest.fixture(scope="module")
def capped_client(backend_config):
    config = {"TESTING": True, "RESULT_CAP": 2, **backend_config}
    return create_app(config).test_client()


def test_result_cap_flagged(capped_client):
    response = capped_client.get("/sparql", query_string={"query": FAMILY}, headers={"Accept": "application/sparql-results+json"})
    assert response.headers["X-Coderef-Truncated"] == "true"
    assert len(response.get_json()["results"]["bindings"]) == 2
    response = capped_client.get("/sparql", query_string={"query": CONSTRUCT_FAMILY}, headers={"Accept": "application/n-triples"})
    assert response.headers["X-Coderef-Truncated"] == "true"
    assert len(response.get_data(as_text=True).splitlines()) == 2
    small = FAMILY.replace("ORDER BY ?notation", "ORDER BY ?notation LIMIT 2")
    response = capped_client.get("/sparql", query_string={"query": small})
    assert response.headers["X-Coderef-Truncated"] == "false"


# ---------------------------------------------------------------- for people, and the description


def test_service_description(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    sd = "http://www.w3.org/ns/sparql-service-description#"
    store = ox.Store()
    store.load(response.get_data(), format=ox.RdfFormat.TURTLE)
    rows = list(store.query(f"SELECT ?endpoint WHERE {{ ?s a <{sd}Service> ; <{sd}endpoint> ?endpoint ; "
                            f"<{sd}supportedLanguage> <{sd}SPARQL11Query> ; "
                            f"<{sd}resultFormat> <http://www.w3.org/ns/formats/SPARQL_Results_JSON> }}"))
    assert [r["endpoint"].value for r in rows] == ["http://localhost/sparql"]
    assert not list(store.query(f"SELECT * WHERE {{ ?s <{sd}feature> <{sd}BasicFederatedQuery> }}"))


def test_form_page_for_people(client):
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<textarea id="sparql-query" name="query"' in html
    assert "Example queries" in html


def test_form_runs_a_query_into_a_table(client):
    response = client.get("/sparql", query_string={"query": FAMILY}, headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "3 rows" in html
    for notation in FAMILY_NOTATIONS:
        assert f"<td>{notation}</td>" in html


def test_form_shows_a_refusal_as_text(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
                                                   "format": "html"})
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "SERVICE is refused" in response.get_data(as_text=True)


def test_form_escapes_literals(client):
    query = 'SELECT ?x WHERE { BIND("<script>alert(1)</script> {{ 7*7 }}" AS ?x) }'
    html = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in html


def test_every_example_runs(client):
    from server.web.views.sparql import EXAMPLES

    for example in EXAMPLES:
        response = client.get("/sparql", query_string={"query": example["query"]},
                              headers={"Accept": "application/sparql-results+json, text/turtle;q=0.9"})
        assert response.status_code == 200, (example["title"], response.get_data(as_text=True)[:300])
        body = response.get_data()
        if response.mimetype == "text/turtle":
            assert list(ox.parse(body, format=ox.RdfFormat.TURTLE)), example["title"]
        else:
            answer = json.loads(body)
            assert answer.get("boolean") is True or answer["results"]["bindings"], example["title"]


# ---------------------------------------------------------------- coderef sparql


@pytest.fixture
def cli_env(backend_environment):
    """`coderef` over the same backend as the app."""


@pytest.mark.parametrize("fmt,query,accept", [
    ("json", FAMILY, "application/sparql-results+json"),
    ("csv", FAMILY, "text/csv"),
    ("tsv", FAMILY, "text/tab-separated-values"),
    ("xml", FAMILY, "application/sparql-results+xml"),
    ("json", ASK_0584T, "application/sparql-results+json"),
    ("ntriples", CONSTRUCT_FAMILY, "application/n-triples"),
    ("turtle", CONSTRUCT_FAMILY, "text/turtle"),
])
def test_cli_gives_the_same_answer(client, cli_env, capsysbinary, fmt, query, accept):
    assert coderef(["sparql", query, "--format", fmt]) == 0
    out = capsysbinary.readouterr().out
    http = client.get("/sparql", query_string={"query": query}, headers={"Accept": accept}).get_data()
    assert out.rstrip(b"\n") == http.rstrip(b"\n")


@pytest.mark.parametrize("name", ["service", "service-nested", "load", "insert-data", "escape-in-comment"])
def test_cli_refuses_with_exit_2(cli_env, listener, capsys, name):
    assert coderef(["sparql", refused_queries(listener.url)[name]]) == 2
    captured = capsys.readouterr()
    assert "refused" in captured.err and not captured.out
    assert listener.quiet_for()


def test_cli_malformed_query(cli_env, capsys):
    assert coderef(["sparql", "SELECT * WHERE {"]) == 2
    assert "malformed SPARQL" in capsys.readouterr().err


# ------------------------------------------------------------------ text that is not UTF-8 (issue 19)

ASK_ALL = "ASK { ?s ?p ?o }"


def test_a_query_that_is_not_utf8_is_a_400_whatever_the_method(client):
    """The W3C protocol test sends a UTF-16 body; a Latin-1 form is the same fault. Each is a
    400 naming what was wrong, never a query run on replacement characters."""
    utf16 = client.post("/sparql", data=ASK_ALL.encode("utf-16"),
                        content_type="application/sparql-query; charset=UTF-16")
    assert_error(utf16, 400)
    assert "declared utf-16" in utf16.get_json()["error"]
    raw = client.post("/sparql", data=b"ASK { ?s ?p \"\xe9\" }", content_type="application/sparql-query")
    assert_error(raw, 400)
    assert "not UTF-8" in raw.get_json()["error"]
    form = client.post("/sparql", data=b"query=ASK+%7B+%3Fs+%3Fp+%22%E9%22+%7D",
                       content_type="application/x-www-form-urlencoded")
    assert_error(form, 400)
    assert "form body is not UTF-8" in form.get_json()["error"]
    get = client.get("/sparql?query=ASK+%7B+%3Fs+%3Fp+%22%E9%22+%7D", headers={"Accept": "application/json"})
    assert_error(get, 400)
    assert "query string is not UTF-8" in get.get_json()["error"]
    # and UTF-8, declared or not, percent-escaped or not, is read as written
    for response in (
        client.post("/sparql", data="ASK { ?s ?p \"é\" }".encode(), content_type="application/sparql-query; charset=utf-8"),
        client.get("/sparql?query=" + quote("ASK { ?s ?p \"é\" }"), headers={"Accept": "application/sparql-results+json"}),
    ):
        assert response.status_code == 200 and response.get_json()["boolean"] is False
