"""Issue 16: search that forgives spelling (hypoglycaemia), spacing (isletcell), finds codes through
related products (Lantidra), reads "modifier 22", and jumps to the page of an exact notation."""

import pytest

from server.search import scheme_query, word_key


def notations(client, q):
    body = client.get("/api/search", query_string={"q": q}).get_json()
    assert body["ok"] is True, body
    return [r["notation"] for r in body["results"]]


@pytest.mark.parametrize("british, american", [("hypoglycaemia", "hypoglycemia"), ("isletcell", "islet cell"),
                                               ("islet-cell", "islet cell")])
def test_spelling_and_spacing_find_the_same_codes(client, british, american):
    """The same codes, whichever is typed; their order may differ with the field that matched."""
    found = notations(client, british)
    assert "0584T" in found and set(found) == set(notations(client, american))


def test_a_related_product_finds_the_codes_that_give_it(client):
    body = client.get("/api/search?q=lantidra").get_json()
    assert {"0584T", "0585T", "0586T"} <= {r["notation"] for r in body["results"]}
    assert all(r["match"] == "product Lantidra" for r in body["results"])


@pytest.mark.parametrize("q, scheme, notation", [("modifier 22", "modifier", "22"), ("Modifier: kx", "modifier", "KX"),
                                                 ("POS 21", "pos", "21"), ("place of service 22", "pos", "22"),
                                                 ("cpt 0584t", "cpt", "0584T"), ("ICD-10-CM E10.649", "icd10cm", "E10.649")])
def test_a_code_system_word_asks_for_that_code(q, scheme, notation):
    assert scheme_query(q) == (scheme, notation)


def test_modifier_22_is_the_modifier_alone(client):
    body = client.get("/api/search?q=modifier 22").get_json()
    assert [r["iri"].rsplit("/", 2)[-2:] for r in body["results"]] == [["modifier", "22"]]


@pytest.mark.parametrize("q, page", [("0584t", "/codes/0584T"), ("modifier 22", "/codes/modifier/22"),
                                     ("KX", "/codes/modifier/KX"), ("22", "/codes/22"), ("e10.649", "/codes/E10.649")])
def test_an_exact_notation_jumps_to_its_page(client, q, page):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 302 and response.headers["Location"] == page


def test_words_stay_on_the_results_page(client):
    assert client.get("/search?q=portal vein").status_code == 200


def test_the_key_is_the_same_in_python_and_sparql(app):
    from server.search import _text_key

    store = app.extensions["coderef.graph"].store
    texts = ["Hypoglycaemia", "OEDEMA of the oesophagus", "Islet-cell (allogeneic)", "anaesthesia paediatric"]
    for text in texts:
        rows = store.select(f'SELECT ?key WHERE {{ BIND("{text}" AS ?t) BIND({_text_key("t")} AS ?key) }}').rows
        assert rows[0]["key"]["value"] == word_key(text)
