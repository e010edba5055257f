"""Issue 16: a page for every code of every scheme at /codes/<scheme>/<notation>, saying what it
applies to; a notation two codes share leads to pages that exist; one address per page (case)."""

import re

import pytest

from server.namespaces import ID

EVERY_CODE = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX cr: <https://w3id.org/coderef/ontology#>
SELECT ?code ?notation WHERE {
  ?code skos:notation ?notation ; a ?class .
  VALUES ?class { cr:ProcedureCode cr:DiagnosisCode cr:Modifier cr:PlaceOfService }
}"""


def h1(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.search(r"<h1>(.*?)</h1>", html, re.S).group(1))


@pytest.mark.embedded_only
def test_every_code_of_every_scheme_has_its_page(app, client):
    rows = app.extensions["coderef.graph"].store.select(EVERY_CODE).rows
    schemes = {}
    for row in rows:
        scheme, notation = row["code"]["value"].removeprefix(ID).split("/", 1)
        schemes.setdefault(scheme, []).append(notation)
        response = client.get(f"/codes/{scheme}/{notation}")
        assert response.status_code == 200, (scheme, notation)
        assert notation in h1(response.get_data(as_text=True))
    assert {"cpt", "hcpcs", "icd10cm", "modifier", "pos"} <= set(schemes)


def test_a_modifier_page_says_what_it_applies_to(client):
    html = client.get("/codes/modifier/KX").get_data(as_text=True)
    applies = html.split('id="applies"', 1)[1].split("</section>", 1)[0]
    assert "Codes it applies to" in applies and 'href="/codes/0584T"' in applies
    assert "Nothing recorded" not in html  # a modifier is not asked for bundles or indications


def test_a_place_of_service_page_says_what_is_performed_there(client):
    html = client.get("/codes/pos/21").get_data(as_text=True)
    performed = html.split('id="performed"', 1)[1].split("</section>", 1)[0]
    assert 'href="/codes/0584T"' in performed


def test_a_shared_notation_leads_to_the_pages_that_exist(client):
    response = client.get("/codes/22")
    assert response.status_code == 300
    html = response.get_data(as_text=True)
    links = re.findall(r'<a class="notation" href="([^"]+)"', html)
    assert links == ["/codes/modifier/22", "/codes/pos/22"]
    for link in links:
        assert client.get(link).status_code == 200


@pytest.mark.parametrize("asked, canonical", [
    ("/codes/0584t", "/codes/0584T"),
    ("/codes/e10.649", "/codes/E10.649"),
    ("/codes/kx", "/codes/modifier/KX"),
    ("/codes/KX", "/codes/modifier/KX"),
    ("/codes/modifier/kx", "/codes/modifier/KX"),
    ("/codes/0584t?tab=1", "/codes/0584T?tab=1"),
])
def test_case_and_scheme_redirect_to_one_address(client, asked, canonical):
    response = client.get(asked)
    assert response.status_code == 301 and response.headers["Location"] == canonical


def test_links_to_modifiers_and_places_lead_to_code_pages(client):
    html = client.get("/codes/0584T").get_data(as_text=True)
    modifiers = html.split('id="modifiers"', 1)[1].split("</section>", 1)[0]
    assert 'href="/codes/modifier/KX"' in modifiers and "/id/modifier/" not in modifiers
    sites = html.split('id="sites"', 1)[1].split("</section>", 1)[0]
    assert 'href="/codes/pos/' in sites


def test_an_unknown_code_in_a_scheme_is_404(client):
    assert client.get("/codes/modifier/ZZ").status_code == 404
    assert client.get("/codes/nope/22").status_code == 404


@pytest.mark.embedded_only
def test_no_code_but_a_procedure_is_the_subject_of_a_procedure_question(app):
    """describe_code skips these questions for diagnoses, modifiers and places of service."""
    from server.codes import PROCEDURE_QUESTIONS, PROCEDURE_SCHEMES
    from server.rdf.terms import IRI

    store = app.extensions["coderef.graph"].store
    catalogue = app.extensions["coderef.questions"]
    others = [r["code"]["value"] for r in store.select(EVERY_CODE).rows
              if r["code"]["value"].removeprefix(ID).split("/", 1)[0] not in PROCEDURE_SCHEMES]
    assert len(others) > 20
    for qid in PROCEDURE_QUESTIONS:
        name = catalogue.get(qid).params[0].name
        for iri in others:
            assert not catalogue.answer(store, qid, {name: IRI(iri)}).rows, (qid, iri)
