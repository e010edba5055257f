"""No way out: no request makes the server open a network connection or read a local file.

Every attack points its IRIs at a TCP listener on 127.0.0.1 that counts the connections it
is offered (or at file:///etc/passwd, whose content must never come back), and goes in
through every entry point: GET and POST /sparql, `coderef sparql`, question parameters
(JSON and HTML), the search box, content negotiation on /id/, the claim check, and request
bodies carrying a JSON-LD or Turtle @context. Each must be refused with a 4xx (the JSON
error shape on machine paths, never a 500) and leave the listener untouched. Both backends.
A dataset named by FROM or by the Protocol's graph parameters is answered, over graphs of
the store only: a remote or file IRI is an empty graph, with the listener untouched.
"""

import json

import pytest

from support.listener import Listener
from server.cli import main as coderef

PASSWD_MARK = "root:x:0:0"  # the first line of /etc/passwd on Debian
PASSWD = "file:///etc/passwd"


@pytest.fixture
def listener():
    lis = Listener()
    yield lis
    lis.close()


def assert_refused(response, statuses=None) -> dict:
    """A 4xx in the one error shape, nothing from /etc/passwd in it."""
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, text[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, text[:300])
    assert PASSWD_MARK not in text
    body = response.get_json()
    assert body == {"ok": False, "error": body["error"], "status": response.status_code}
    assert body["error"]
    return body


def has_key(node, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(has_key(v, key) for v in node.values())
    if isinstance(node, list):
        return any(has_key(v, key) for v in node)
    return False


# ---------------------------------------------------------------- /sparql and `coderef sparql`


def attacks(url: str) -> dict:
    """Queries and updates that would reach `url` (or a local file) if they ran."""
    return {
        "service": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "service-silent": f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        "service-variable": f"SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        "service-in-ask": f"ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "service-in-construct": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "service-in-subquery": f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        "service-file": f"SELECT * WHERE {{ SERVICE <{PASSWD}> {{ ?s ?p ?o }} }}",
        # every form of SPARQL 1.1 Update
        "load": f"LOAD <{url}x>",
        "load-silent-into": f"LOAD SILENT <{url}x> INTO GRAPH <urn:coderef:g>",
        "load-file": f"LOAD <{PASSWD}>",
        "insert-data": "INSERT DATA { <urn:coderef:x> <urn:coderef:y> <urn:coderef:z> }",
        "delete-data": "DELETE DATA { <urn:coderef:x> <urn:coderef:y> <urn:coderef:z> }",
        "delete-where": "DELETE WHERE { ?s ?p ?o }",
        "modify": "DELETE { ?s ?p ?o } INSERT { ?s ?p 'x' } WHERE { ?s ?p ?o }",
        "insert-where-service": f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "with": "WITH <urn:coderef:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "using": f"DELETE {{ ?s ?p ?o }} USING <{url}x> WHERE {{ ?s ?p ?o }}",
        "using-named": f"INSERT {{ ?s ?p ?o }} USING NAMED <{PASSWD}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "clear": "CLEAR ALL",
        "clear-graph": "CLEAR SILENT GRAPH <urn:coderef:g>",
        "drop": "DROP DEFAULT",
        "create": "CREATE GRAPH <urn:coderef:g>",
        "add": "ADD DEFAULT TO <urn:coderef:g>",
        "move": "MOVE DEFAULT TO <urn:coderef:g>",
        "copy": "COPY DEFAULT TO <urn:coderef:g>",
        "two-updates": f"INSERT DATA {{ <urn:coderef:x> <urn:coderef:y> <urn:coderef:z> }} ; LOAD <{url}x>",
        "prefixed-update": f"PREFIX ex: <{url}> LOAD ex:x",
    }


ATTACKS = list(attacks("http://127.0.0.1:9/"))


def dataset_queries(url: str) -> dict:
    """Queries whose FROM / FROM NAMED name a remote or local IRI: answered, over an empty graph."""
    return {
        "from": f"SELECT * FROM <{url}x> WHERE {{ ?s ?p ?o }} LIMIT 1",
        "from-named": f"SELECT * FROM NAMED <{url}x> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "from-file": f"SELECT * FROM <{PASSWD}> WHERE {{ ?s ?p ?o }}",
        "from-named-file": f"SELECT * FROM NAMED <{PASSWD}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "from-and-named": f"SELECT * FROM <{url}a> FROM NAMED <{PASSWD}> WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} }} }}",
        "describe-from": f"DESCRIBE ?s FROM <{url}x> WHERE {{ ?s ?p ?o }}",
        "construct-from": f"CONSTRUCT {{ ?s ?p ?o }} FROM <{PASSWD}> WHERE {{ ?s ?p ?o }}",
        "ask-from": f"ASK FROM <{PASSWD}> {{ ?s ?p ?o }}",
    }


def assert_empty(response):
    """200, and nothing: no row, no triple, false; nothing of /etc/passwd."""
    text = response.get_data(as_text=True)
    assert response.status_code == 200, (response.status_code, text[:300])
    assert PASSWD_MARK not in text
    if response.mimetype == "application/sparql-results+json":
        body = response.get_json()
        assert body.get("boolean") in (None, False), body
        assert not body.get("results", {}).get("bindings"), body
    else:
        assert not [line for line in text.splitlines() if line.strip() and not line.startswith("@prefix")], text[:300]


def send(client, how: str, query: str):
    if how == "get":
        return client.get("/sparql", query_string={"query": query})
    if how == "post-form":
        return client.post("/sparql", data={"query": query})
    if how == "post-direct":
        return client.post("/sparql", data=query.encode("utf-8"), content_type="application/sparql-query")
    if how == "update-param":
        return client.post("/sparql", data={"update": query})
    return client.post("/sparql", data=query.encode("utf-8"), content_type="application/sparql-update")


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct", "update-param", "update-direct"])
def test_sparql_attacks_refused(client, store, listener, how):
    answers = {}
    for name, query in attacks(listener.url).items():
        response = send(client, how, query)
        answers[name] = assert_refused(response, {403})["error"]
    assert listener.quiet_for()
    assert not store.ask("ASK { <urn:coderef:x> ?p ?o }")
    assert store.ask("ASK { ?s ?p ?o }")  # nothing was cleared, dropped or moved


def test_sparql_attacks_refused_as_html_too(client, listener):
    """The form page shows the refusal (a 403 page, never a run)."""
    for query in attacks(listener.url).values():
        response = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/html"})
        assert response.status_code == 403
        assert PASSWD_MARK not in response.get_data(as_text=True)
    assert listener.quiet_for()


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct"])
def test_from_names_only_graphs_of_the_store(client, listener, how):
    for name, query in dataset_queries(listener.url).items():
        assert_empty(send(client, how, query))
    assert listener.quiet_for()


def test_from_outside_is_refused_as_an_update(client, listener):
    """Sent as an update, a query with FROM is still an update: refused."""
    for how in ("update-param", "update-direct"):
        for query in dataset_queries(listener.url).values():
            assert_refused(send(client, how, query), {403})
    assert listener.quiet_for()


def test_dataset_parameters_name_only_graphs_of_the_store(client, listener):
    query = "SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } LIMIT 1"
    for name in ("default-graph-uri", "named-graph-uri"):
        for target in (listener.url, PASSWD):
            assert_empty(client.get("/sparql", query_string={"query": query, name: target}))
            assert_empty(client.post("/sparql", data={"query": query, name: target}))
            assert_empty(client.post(f"/sparql?{name}={target}", data=query,
                                     content_type="application/sparql-query"))
    assert listener.quiet_for()


@pytest.mark.parametrize("name", ["service", "service-file", "load", "insert-data", "using", "two-updates"])
def test_cli_sparql_refuses(app, listener, capsys, monkeypatch, name):
    query = attacks(listener.url)[name]
    if app.config.get("SPARQL_ENDPOINT"):  # `coderef sparql` takes its endpoint from the environment
        monkeypatch.setenv("CODEREF_SPARQL_ENDPOINT", app.config["SPARQL_ENDPOINT"])
    assert coderef(["sparql", query]) == 2
    out, err = capsys.readouterr()
    assert "refused" in err and out == ""
    assert PASSWD_MARK not in out + err
    assert listener.quiet_for()


# ---------------------------------------------------------------- question parameters and search


def injections(url: str) -> list[str]:
    return [
        f"0584T> }} SERVICE <{url}> {{",
        f"0584T> }} SERVICE <{url}> {{ ?s ?p ?o }} VALUES ?z {{ <urn:coderef:z",  # closes where pasted
        f'0584T" }} SERVICE <{url}> {{ "',
        f"cpt/0584T> . }} LOAD <{url}x> #",
        f"0584T\n}} ; INSERT DATA {{ <urn:coderef:x> <urn:coderef:y> <urn:coderef:z> }} #",
        f"medicare> }} FROM <{url}x> {{",
        f"2026-01-01\"^^<{url}x> }} SERVICE <{url}> {{",
        f"1 }} SERVICE <{url}> {{ ?s ?p ?o",
        url,
        PASSWD,
    ]


def test_question_parameters_carry_only_values(app, client, store, listener):
    catalogue = app.extensions["coderef.questions"]
    tried = 0
    for question in catalogue:
        for param in question.params:
            for value in injections(listener.url):
                response = client.get(f"/api/questions/{question.id}", query_string={param.name: value})
                assert_refused(response, {400, 404})
                page = client.get(f"/questions/{question.id}", query_string={param.name: value},
                                  headers={"Accept": "text/html"})
                assert page.status_code in (400, 404), (question.id, param.name, page.status_code)
                assert PASSWD_MARK not in page.get_data(as_text=True)
                tried += 1
        # a parameter the question does not have, named like a query variable
        assert_refused(client.get(f"/api/questions/{question.id}",
                                  query_string={"s": f"<{listener.url}>", "format": "json"}), {400})
    assert tried > 20
    assert listener.quiet_for()
    assert not store.ask("ASK { <urn:coderef:x> ?p ?o }")


def test_cli_query_parameters_carry_only_values(app, listener, capsys, monkeypatch):
    if app.config.get("SPARQL_ENDPOINT"):
        monkeypatch.setenv("CODEREF_SPARQL_ENDPOINT", app.config["SPARQL_ENDPOINT"])
    for question, name, value in [("payer_coverage", "code", injections(listener.url)[1]),
                                  ("payer_policies", "payer", listener.url), ("payer_policies", "as_of", PASSWD)]:
        assert coderef(["query", question, "-p", f"{name}={value}"]) == 2
        out, err = capsys.readouterr()
        assert f"parameter {name!r}" in err and out == ""
    assert listener.quiet_for()


@pytest.mark.parametrize("path", ["/api/search", "/search"])
def test_search_box_is_only_text(client, listener, path):
    for value in injections(listener.url):
        response = client.get(path, query_string={"q": value})
        assert response.status_code in (200, 400), (value, response.status_code)
        assert PASSWD_MARK not in response.get_data(as_text=True)
        if path == "/api/search" and response.status_code == 200:
            assert response.get_json()["q"] == value
    assert listener.quiet_for()


# ---------------------------------------------------------------- content negotiation on /id/


@pytest.mark.parametrize("how", ["accept", "accept-json", "format", "suffix"])
def test_jsonld_has_no_context_to_fetch(client, listener, how):
    path, headers, query = "/id/cpt/0584T", {}, {}
    if how == "accept":
        headers["Accept"] = "application/ld+json"
    elif how == "accept-json":
        headers["Accept"] = f'application/ld+json;profile="{listener.url}ctx", application/json'
    elif how == "format":
        query["format"] = "jsonld"
    else:
        path += ".jsonld"
    response = client.get(path, headers=headers, query_string=query)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    document = json.loads(response.get_data())
    assert document and not has_key(document, "@context")
    assert listener.url not in response.get_data(as_text=True)
    assert listener.quiet_for()


def test_id_paths_carrying_attacks(client, listener):
    for value in injections(listener.url):
        for accept in ("application/ld+json", "text/turtle"):
            response = client.get("/id/cpt/" + value.replace("\n", " "), headers={"Accept": accept})
            assert_refused(response, {404})
    assert_refused(client.get("/id/cpt/0584T", query_string={"format": listener.url}), {406})
    assert listener.quiet_for()


def test_sparql_jsonld_answer_has_no_context(client, listener):
    response = client.get("/sparql", query_string={"query": "DESCRIBE <https://w3id.org/coderef/id/cpt/0584T>"},
                          headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    assert not has_key(json.loads(response.get_data()), "@context")
    assert listener.quiet_for()


# ---------------------------------------------------------------- the claim check


def sample_claim() -> dict:
    # data/examples/claim-0584T-medicare-trial.json, the shipped sample
    return {"payer": "medicare", "date_of_service": "2026-03-02", "place_of_service": "21",
            "diagnoses": ["E10.649", "Z00.6"], "clinical_trial_nct": "NCT00679042",
            "lines": [{"code": "0584T", "modifiers": ["Q0"], "units": 1}]}


def hostile_claims(url: str):
    """The sample claim with one field at a time pointing at `url` or a local file."""
    for target in (url, f"<{url}>", PASSWD, f"0584T> }} SERVICE <{url}> {{"):
        for key in ("payer", "date_of_service", "place_of_service", "clinical_trial_nct"):
            yield {**sample_claim(), key: target}
        yield {**sample_claim(), "diagnoses": [target]}
        for key in ("code", "modifiers", "units"):
            value = [target] if key == "modifiers" else target
            yield {**sample_claim(), "lines": [{**sample_claim()["lines"][0], key: value}]}
        yield {**sample_claim(), "@context": target}
        yield {**sample_claim(), "lines": [{**sample_claim()["lines"][0], "@id": target}]}


def test_claim_fields_carry_only_values(client, listener):
    assert client.post("/api/check-claim", json=sample_claim()).status_code == 200  # the probe can pass
    count = 0
    for claim in hostile_claims(listener.url):
        assert_refused(client.post("/api/check-claim", json=claim), {400})
        count += 1
    assert count == 4 * 10
    assert listener.quiet_for()


def test_claim_form_fields_carry_only_values(client, listener):
    url = listener.url
    fields = {"payer": "medicare", "date_of_service": "2026-03-02", "place_of_service": "21",
              "diagnoses": "E10.649", "clinical_trial_nct": "NCT00679042", "lines": "0584T, Q0, 1"}
    for key in fields:
        for target in (url, PASSWD):
            response = client.post("/check-claim", data={**fields, key: f"{target}, {target}"})
            assert response.status_code == 400, (key, response.status_code)
            assert PASSWD_MARK not in response.get_data(as_text=True)
    assert listener.quiet_for()


# ---------------------------------------------------------------- bodies with a remote @context


def context_bodies(url: str) -> dict:
    """(content type, body) naming a remote context or base the server must never fetch."""
    jsonld = json.dumps({"@context": f"{url}ctx", "@id": "https://w3id.org/coderef/id/cpt/0584T",
                         "@type": f"{url}T", "payer": "medicare"})
    return {
        "jsonld": ("application/ld+json", jsonld),
        "jsonld-as-json": ("application/json", jsonld),
        "jsonld-list": ("application/json", json.dumps([{"@context": [f"{url}ctx", PASSWD]}])),
        "turtle": ("text/turtle", f"@base <{url}> .\n@prefix ctx: <{url}ctx#> .\n<a> ctx:b <{PASSWD}> .\n"),
        "rdfxml": ("application/rdf+xml", f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "{PASSWD}">]>'
                                         f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                                         f'xml:base="{url}">&e;</rdf:RDF>'),
    }


POST_TARGETS = ["/sparql", "/api/check-claim", "/api/questions/bundled_services", "/api/search",
                "/api/codes/0584T", "/id/cpt/0584T", "/api/validate", "/api/payers"]


def test_bodies_with_remote_contexts_are_never_read_as_rdf(client, listener):
    answers = {}
    for target in POST_TARGETS:
        for name, (media, body) in context_bodies(listener.url).items():
            # sent by a program that reads what it sends: JSON-LD, not HTML
            headers = {"Accept": "application/ld+json"}
            response = client.post(target, data=body.encode("utf-8"), content_type=media, headers=headers)
            answers[(target, name)] = assert_refused(response)["status"]
            response = client.put(target, data=body.encode("utf-8"), content_type=media, headers=headers)
            assert_refused(response, {405})
    # the only two that read a body: /sparql refuses the media type, the claim check the fields
    assert {s for (t, _), s in answers.items() if t == "/sparql"} == {415}
    assert {s for (t, _), s in answers.items() if t == "/api/check-claim"} == {400}
    assert {s for (t, _), s in answers.items() if t not in ("/sparql", "/api/check-claim")} == {405}
    # and as the text of a direct query: a parse error, not a fetch
    for media, body in context_bodies(listener.url).values():
        assert_refused(client.post("/sparql", data=body, content_type="application/sparql-query"), {400})
    assert listener.quiet_for()


def test_claim_form_with_remote_context_body(client, listener):
    media, body = context_bodies(listener.url)["jsonld"]
    response = client.post("/check-claim", data=body, content_type=media)
    assert response.status_code == 400
    assert listener.quiet_for()
