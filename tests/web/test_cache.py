"""The per-worker answer cache: a repeat is answered from memory with the same bytes, a
reload empties it, errors are never kept, and content negotiation keeps answers apart."""

import time
import urllib.parse

import pytest

from server.web import cache as answer_cache
from server import create_app

PROBE = "<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'cache probe' .\n"
ASK_PROBE = "ASK { <https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'cache probe' }"
SPARQL_JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture()
def cached_app():
    return create_app({"TESTING": True, "CACHE_MB": 8})


def sparql_get(client, query):
    return client.get("/sparql?" + urllib.parse.urlencode({"query": query}), headers=SPARQL_JSON)


@pytest.mark.parametrize("path", ["/codes/0584T", "/coverage", "/api/questions/bundled_services?code=0584T",
                                  "/questions/modifiers?code=0584T", "/"])
def test_a_repeat_is_the_same_answer_from_memory(cached_app, path):
    client = cached_app.test_client()
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Coderef-Cache"] == "miss" and second.headers["X-Coderef-Cache"] == "hit"
    assert first.get_data() == second.get_data()
    assert first.headers["Content-Type"] == second.headers["Content-Type"]
    assert first.headers["ETag"] == second.headers["ETag"]


def test_if_none_match_gets_304_without_a_body(cached_app):
    client = cached_app.test_client()
    etag = client.get("/codes/0584T").headers["ETag"]
    again = client.get("/codes/0584T", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get("/codes/0584T", headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.get_data()


def test_errors_are_never_kept(cached_app):
    client = cached_app.test_client()
    for _ in range(2):
        response = client.get("/api/questions/bundled_services?code=not%20a%20code")
        assert response.status_code in (400, 404)
        assert "X-Coderef-Cache" not in response.headers
    refused = {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}
    for _ in range(2):
        response = cached_app.test_client().post("/sparql", data=refused)
        assert response.status_code >= 400 and "X-Coderef-Cache" not in response.headers


def test_negotiated_answers_are_kept_apart(cached_app):
    client = cached_app.test_client()
    html = client.get("/id/cpt/0584T", headers={"Accept": "text/html"})
    turtle = client.get("/id/cpt/0584T", headers={"Accept": "text/turtle"})
    assert html.headers["Content-Type"].startswith("text/html")
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    assert client.get("/id/cpt/0584T", headers={"Accept": "text/turtle"}).get_data() == turtle.get_data()


def test_post_queries_are_keyed_by_their_body(cached_app):
    client = cached_app.test_client()
    ask_true = "ASK { <https://w3id.org/coderef/id/cpt/0584T> ?p ?o }"
    ask_false = "ASK { <urn:nothing:here> ?p ?o }"
    headers = {**SPARQL_JSON, "Content-Type": "application/sparql-query"}
    answers = [client.post("/sparql", data=q, headers=headers).get_json()["boolean"]
               for q in (ask_true, ask_false, ask_true, ask_false)]
    assert answers == [True, False, True, False]


@pytest.mark.parametrize("kind", ["memory", "persisted"])
def test_a_reload_empties_the_cache(root_copy, tmp_path, kind):
    app = create_app({"TESTING": True, "ROOT": str(root_copy), "RELOAD_INTERVAL": 0.1, "CACHE_MB": 8,
                      "STORE": kind, "STORE_DIR": str(tmp_path / "store")})
    client = app.test_client()
    assert sparql_get(client, ASK_PROBE).get_json()["boolean"] is False
    assert sparql_get(client, ASK_PROBE).headers["X-Coderef-Cache"] == "hit"
    (root_copy / "data" / "probe.ttl").write_text(PROBE, encoding="utf-8")
    time.sleep(0.2)
    fresh = sparql_get(client, ASK_PROBE)
    assert fresh.get_json()["boolean"] is True, "a cached answer outlived the graph it came from"
    assert fresh.headers["X-Coderef-Cache"] == "miss"


def test_off_when_cache_mb_is_zero():
    app = create_app({"TESTING": True, "CACHE_MB": 0})
    client = app.test_client()
    assert "coderef.cache" not in app.extensions
    assert all("X-Coderef-Cache" not in client.get("/codes/0584T").headers for _ in range(2))


def test_never_over_a_remote_endpoint(oxigraph_endpoint):
    app = create_app({"TESTING": True, "CACHE_MB": 8, "SPARQL_ENDPOINT": oxigraph_endpoint})
    client = app.test_client()
    assert "coderef.cache" not in app.extensions
    assert "X-Coderef-Cache" not in client.get("/api/questions/bundled_services?code=0584T").headers


def test_the_day_is_part_of_the_key(cached_app, monkeypatch):
    """as_of defaults to today: yesterday's answer must not be served tomorrow."""
    client = cached_app.test_client()
    client.get("/api/questions/stale_policies")
    assert client.get("/api/questions/stale_policies").headers["X-Coderef-Cache"] == "hit"

    monkeypatch.setattr(answer_cache, "_today", lambda: "2999-12-31")
    assert client.get("/api/questions/stale_policies").headers["X-Coderef-Cache"] == "miss"


def test_the_cache_stays_within_its_bytes():
    kept = answer_cache.ResponseCache(max_bytes=8000)
    store = type("Store", (), {})()
    for n in range(100):
        kept.put(store, (str(n),), b"x" * 500, [("Content-Type", "text/plain")])
    assert kept._bytes <= 8000 and 0 < len(kept) < 100
    assert kept.get(store, ("99",)) is not None, "the newest answers stay"
    assert kept.get(store, ("0",)) is None, "the oldest went first"
    kept.put(store, ("big",), b"x" * 2000, [])
    assert kept.get(store, ("big",)) is None, "one answer may not push out most of the others"
    other = type("Store", (), {})()
    assert kept.get(other, ("99",)) is None and len(kept) == 0, "another store: nothing carried over"
