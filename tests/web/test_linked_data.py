"""/id/...: Linked Data resources by content negotiation, over both stores."""

import json
import re
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest

from server.rdf.terms import IRI

ID = "https://w3id.org/coderef/id/"
CR = "https://w3id.org/coderef/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
CODE = ID + "cpt/0584T"

RDF_MEDIA = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


class Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_data(self, data):
        self.text.append(data)


def triples(body: bytes, fmt) -> set:
    return {(q.subject.value, q.predicate.value, q.object.value) for q in ox.parse(body, format=fmt)}


def stored(store, iri: str) -> set:
    found = store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", bindings={"s": IRI(iri)})
    return {(t.subject.value, t.predicate.value, t.object.value) for t in found}


@pytest.mark.parametrize("media", list(RDF_MEDIA))
def test_rdf_by_accept_is_the_resources_description(client, store, media):
    response = client.get("/id/cpt/0584T", headers={"Accept": media})
    assert response.status_code == 200
    assert response.mimetype == media
    assert "Accept" in response.headers["Vary"]
    got = triples(response.get_data(), RDF_MEDIA[media])
    assert got == stored(store, CODE)
    assert (CODE, SKOS + "notation", "0584T") in got
    assert (CODE, CR + "codeSystem", ID + "scheme/cpt-category-iii") in got


def test_json_ld_has_no_context_to_fetch(client):
    body = json.loads(client.get("/id/cpt/0584T", headers={"Accept": "application/ld+json"}).get_data())
    assert isinstance(body, list) and body
    assert "@context" not in json.dumps(body)
    node = next(n for n in body if n["@id"] == CODE)
    assert {"@value": "0584T"} in node[SKOS + "notation"] or \
        {"@value": "0584T", "@type": "http://www.w3.org/2001/XMLSchema#string"} in node[SKOS + "notation"]


@pytest.mark.parametrize("suffix,media", [(".ttl", "text/turtle"), (".jsonld", "application/ld+json"),
                                          (".nt", "application/n-triples"), (".rdf", "application/rdf+xml")])
def test_suffixes(client, suffix, media):
    response = client.get(f"/id/icd10cm/E10.649{suffix}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == media
    assert any(s == ID + "icd10cm/E10.649" for s, _, _ in triples(response.get_data(), RDF_MEDIA[media]))


def test_format_parameter_and_alternate_links(client):
    response = client.get("/id/payer/aetna?format=turtle", headers={"Accept": "text/html"})
    assert response.mimetype == "text/turtle"
    assert '</id/payer/aetna.ttl>; rel="alternate"; type="text/turtle"' in response.headers["Link"]


def test_html_page_for_people(client, store):
    response = client.get("/id/cpt/0584T", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = Links()
    page.feed(response.get_data(as_text=True))
    text = " ".join("".join(page.text).split())
    label = store.select(f"SELECT ?l WHERE {{ <{CODE}> <{SKOS}prefLabel> ?l }}").rows[0]["l"]["value"]
    assert label in text
    assert "procedure code" in text  # the type, by its label
    # every property, by its compact name; a source by its title; an incoming link
    for name in ("skos:notation", "cr:bundledService", "cr:modifierUsage", "dct:source"):
        assert name in text, name
    assert "/id/statement/0584T-bundle-77002" in page.hrefs
    assert "/id/source/seed-0584t" in page.hrefs
    assert "What links here" in text and "cr:appliesTo" in text
    assert "/codes/0584T" in page.hrefs


def test_links_on_a_page_lead_to_resources(client):
    html = client.get("/id/cpt/0584T", headers={"Accept": "text/html"}).get_data(as_text=True)
    page = Links()
    page.feed(html)
    targets = sorted({h for h in page.hrefs if h and h.startswith("/id/")})
    assert len(targets) > 20
    for href in targets[:: max(1, len(targets) // 25)]:  # a spread of them, to stay fast
        assert client.get(href, headers={"Accept": "text/html"}).status_code == 200, href


@pytest.mark.embedded_only
def test_a_resource_only_linked_to_still_has_a_page(tmp_path, repo_root):
    """An IRI the data only points at (no statements of its own) lists who points at it."""
    import shutil

    from server import create_app

    for name in ("ontology", "queries"):
        shutil.copytree(repo_root / name, tmp_path / name)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "link.ttl").write_text(
        f"<{ID}source/test-only> <{DCT}title> \"A test-only source\"@en ;\n"
        f"    <{DCT}references> <{ID}source/test-only-undescribed> .\n", encoding="utf-8")
    client = create_app({"ROOT": str(tmp_path), "TESTING": True}).test_client()
    response = client.get("/id/source/test-only-undescribed", headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = Links()
    page.feed(response.get_data(as_text=True))
    assert "/id/source/test-only" in page.hrefs
    assert "A test-only source" in "".join(page.text)
    assert client.get("/id/source/test-only-undescribed.ttl").get_data().strip() == b""


@pytest.mark.parametrize("accept", ["text/turtle", "application/json", "application/ld+json"])
def test_unknown_resource_is_404_in_the_error_shape(client, accept):
    response = client.get("/id/cpt/not-a-code", headers={"Accept": accept})
    assert response.status_code == 404
    body = response.get_json()
    assert body == {"ok": False, "error": f"no resource {ID}cpt/not-a-code in the reference", "status": 404}


def test_unknown_resource_for_a_browser(client):
    response = client.get("/id/cpt/not-a-code", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "not-a-code" in response.get_data(as_text=True)


def test_nothing_acceptable_is_406(client):
    response = client.get("/id/cpt/0584T", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.get_json()["status"] == 406


def test_an_iri_that_cannot_be_one_is_404(client):
    response = client.get("/id/cpt/a%20b%3Cc", headers={"Accept": "text/turtle"})
    assert response.status_code == 404


def test_turtle_and_ntriples_say_the_same(client):
    """A policy found from its payer's page (what links here), in two formats."""
    html = client.get("/id/payer/medicare", headers={"Accept": "text/html"}).get_data(as_text=True)
    found = re.findall(r'href="(/id/policy/medicare/[^"]+)"', html)
    assert found, "the Medicare payer page links no policy"
    ttl = triples(client.get(found[0] + ".ttl").get_data(), ox.RdfFormat.TURTLE)
    nt = triples(client.get(found[0] + ".nt").get_data(), ox.RdfFormat.N_TRIPLES)
    assert ttl == nt and ttl
    assert any(p == DCT + "source" for _, p, _ in ttl)
