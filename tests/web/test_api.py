"""The JSON API (issue 3, item 3) over both stores: questions as JSON and CSV, everything
about a code, search, payers, the OpenAPI description, and one error shape everywhere.

Facts asserted come from the seed publication and the fact sheet (see test_questions.py).
"""

import csv
import io
import re

import pytest

from support.errors import assert_error

ID = "https://w3id.org/coderef/id/"


def ok(client, path, **kwargs) -> dict:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["ok"] is True
    return body


# ------------------------------------------------------------------ questions

def test_question_list(client):
    questions = {q["id"]: q for q in ok(client, "/api/questions")["questions"]}
    assert {"code_summary", "bundled_services", "coverage_matrix", "stale_policies", "sources"} <= set(questions)
    for q in questions.values():
        assert {"id", "summary", "description", "params"} <= set(q)
        assert q["summary"] and q["description"]
        for p in q["params"]:
            assert {"name", "type", "required"} <= set(p)
    assert questions["bundled_services"]["params"][0] == {
        "name": "code", "type": "code", "required": True, "default": None, "description": "The including code, e.g. 0584T"}
    assert [p["name"] for p in questions["stale_policies"]["params"]] == ["as_of", "max_age_days"]


def test_question_answer_shape(client):
    body = ok(client, "/api/questions/bundled_services?code=0584T")
    # The contract's keys, and paging's (tests/web/test_paging.py): the whole answer on one page.
    assert set(body) == {"ok", "question", "columns", "rows", "truncated", "offset", "limit", "next"}
    assert body["question"] == "bundled_services" and body["truncated"] is False
    assert body["offset"] == 0 and body["next"] is None
    assert "source" in body["columns"]
    assert all(list(row) == body["columns"] for row in body["rows"])
    assert {"77001", "75885", "36481"} <= {r["reportedAloneByNotation"] for r in body["rows"]}


@pytest.mark.parametrize("path", [
    "/api/questions/payer_coverage.csv?code=0584T",
    "/api/questions/payer_coverage?code=0584T&format=csv",
])
def test_csv_has_the_rows_of_the_json(client, path):
    body = ok(client, "/api/questions/payer_coverage?code=0584T")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="payer_coverage.csv"' in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == body["columns"]
    facts = [c for c in body["columns"] if c not in ("source", "sourceTitle", "sourceUrl", "sources")]
    rows = [dict(zip(table[0], line)) for line in table[1:]]
    assert [[r[c] for c in facts] for r in rows] == [["" if r[c] is None else r[c] for c in facts] for r in body["rows"]]
    # issue 16: a fact's sources are gathered in its row, every one kept, in the same order
    for line, row in zip(rows, body["rows"]):
        assert line["source"].split(" | ") == [s["source"] for s in row["sources"]]
        assert line["sources"].split("; ")[0].startswith(row["sources"][0]["sourceTitle"])


def test_json_suffix_and_accept_header(client):
    plain = ok(client, "/api/questions/related_codes?code=0586T")
    assert ok(client, "/api/questions/related_codes.json?code=0586T") == plain
    response = client.get("/api/questions/related_codes?code=0586T", headers={"Accept": "text/csv"})
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines()[0].split(",") == plain["columns"]


def test_optional_parameters_and_defaults(client):
    everything = ok(client, "/api/questions/coverage_matrix")["rows"]
    one = ok(client, "/api/questions/coverage_matrix?code=0584T")["rows"]
    assert {r["notation"] for r in one} == {"0584T"} and len(everything) > len(one)
    # as_of defaults to today; a date in the far past has nothing in force yet reviewed late
    stale = ok(client, "/api/questions/stale_policies?as_of=2025-01-01")["rows"]
    assert "TRANS.00010" in {r["policyIdentifier"] for r in stale}


# ------------------------------------------------------------------ codes and search

def test_code_everything(client):
    code = ok(client, "/api/codes/0584T")["code"]
    assert code["notation"] == "0584T" and code["iri"] == ID + "cpt/0584T"
    assert code["shortDescriptor"] == "Perq islet cell transplant"
    assert code["codeSystem"]["label"] == "CPT Category III"
    assert {"77001", "75885", "36481"} <= {c["notation"] for b in code["bundledServices"] for c in b["reportedAloneBy"]}
    m22 = [m for m in code["modifiers"] if m["modifier"]["notation"] == "22"]
    assert m22 and "substantially more work" in m22[0]["whenToUse"] and m22[0]["sources"]
    assert "E10.649" in {i["diagnosis"]["notation"] for i in code["indications"]}
    related = {r["code"]["notation"]: r["code"]["approach"] for r in code["relatedCodes"]}
    assert related["0585T"] == "laparoscopic" and related["0586T"] == "open"
    cigna = [p for p in code["payerPositions"] if p["payer"]["slug"] == "cigna"
             and p["clinicalContext"]["label"] == "allogeneic"]
    assert cigna and cigna[0]["status"]["label"] == "investigational"
    assert "interventional radiology suite" in {s["setting"]["label"] for s in code["sitesOfService"] if s["setting"]}
    assert code["scenario"]["steps"]
    assert ID + "source/seed-0584t" in {s["iri"] for s in code["allSources"]}
    assert "48160" in {i["code"]["notation"] for i in code["includedIn"]}
    for key in ("bundledServices", "modifiers", "indications", "payerPositions", "relatedCodes"):
        assert all(entry["sources"] for entry in code[key]), key


@pytest.mark.parametrize("notation, iri, label", [
    ("E10.649", "icd10cm/E10.649", "Type 1 diabetes mellitus with hypoglycemia without coma"),
    ("Q0", "modifier/Q0", None),
    ("pos/21", "pos/21", "Inpatient Hospital"),
    ("48160", "cpt/48160", None),
])
def test_code_of_every_kind(client, notation, iri, label):
    code = ok(client, f"/api/codes/{notation}")["code"]
    assert code["iri"] == ID + iri
    if label:
        assert code["label"] == label
    assert code["sources"], "a code without its sources"


def test_code_of_the_family_and_scheme_prefix(client):
    g = ok(client, "/api/codes/G0341")["code"]
    assert g["scheme"] == "hcpcs" and g["approach"]["label"] == "percutaneous"
    assert ok(client, "/api/codes/modifier/22")["code"]["iri"] == ID + "modifier/22"


@pytest.mark.parametrize("q, expected, match", [
    ("0584T", "0584T", "notation"),
    ("0584", "0584T", "notation"),
    ("portal vein", "0584T", None),
    ("hypoglycemia", "0584T", "indication E10.649"),
    ("Perq islet", "0584T", None),  # the CMS short descriptor (fact sheet)
])
def test_search(client, q, expected, match):
    results = ok(client, "/api/search", query_string={"q": q})["results"]
    hits = [r for r in results if r["notation"] == expected]
    assert hits, [r["notation"] for r in results]
    if match:
        assert hits[0]["match"] == match
    if q == "0584T":
        assert results[0]["notation"] == "0584T"
    if q == "hypoglycemia":  # the diagnosis itself, and the procedures it supports
        assert "E10.649" in {r["notation"] for r in results}


def test_search_words_are_data(client):
    # Quotes and braces are words to look for, never query text.
    assert ok(client, "/api/search", query_string={"q": '" } ; DROP ALL #'})["results"] == []


# ------------------------------------------------------------------ payers

def test_payers(client):
    payers = {p["slug"]: p for p in ok(client, "/api/payers")["payers"]}
    assert {"medicare", "aetna", "cigna", "uhc", "bcbsa", "anthem", "premera"} <= set(payers)
    for slug in ("anthem", "premera", "bcbs-ri", "bcbs-sc", "highmark", "wellmark"):
        assert payers[slug]["parent"]["slug"] == "bcbsa", slug
        assert payers[slug]["parent"]["name"] == "Blue Cross Blue Shield Association"
    assert payers["cigna"]["parent"] is None
    cigna = {p["identifier"] for p in payers["cigna"]["policies"]}
    assert "MM 0107" in cigna
    ncd = [p for p in payers["medicare"]["policies"] if p["identifier"] == "NCD 260.3.1"]
    assert ncd and ncd[0]["effectiveDate"] == "2004-10-01" and ncd[0]["sources"]
    premera = payers["premera"]["policies"][0]
    assert (premera["identifier"], premera["effectiveDate"]) == ("7.03.12", "2021-11-01")


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("path, status, words", [
    ("/api/questions/bundled_services?code=9999T", 404, "9999T"),
    ("/api/questions/nope", 404, "nope"),
    ("/api/questions/bundled_services.csv?code=9999T", 404, "9999T"),
    ("/api/codes/9999T", 404, "9999T"),
    ("/api/nothing-here", 404, "/api/nothing-here"),
    ("/api/questions/bundled_services?code=0584T%22%20%7D%20%3B%20DROP%20ALL%20%23", 400, "'code'"),
    ("/api/questions/bundled_services", 400, "'code'"),
    ("/api/questions/bundled_services?code=0584T&x=1", 400, "'x'"),
    ("/api/codes/not%20a%20code", 400, "'notation'"),
    ("/api/codes/9999T", 404, "'notation'"),
    ("/api/search", 400, "'q'"),
    ("/api/search?q=0584T&limit=0", 400, "'limit'"),
    ("/api/questions/bundled_services.xml?code=0584T", 404, "bundled_services.xml"),
    ("/api/questions/bundled_services?code=0584T&format=xml", 406, "xml"),
])
def test_one_error_shape(client, path, status, words):
    assert words in assert_error(client.get(path), status)


def test_unacceptable_accept_header_is_406(client):
    response = client.get("/api/questions/bundled_services?code=0584T", headers={"Accept": "application/xml"})
    assert "json" in assert_error(response, 406)


def test_wrong_method_has_the_error_shape(client):
    assert_error(client.post("/api/questions"), 405)


# ------------------------------------------------------------------ OpenAPI

@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_openapi_is_valid(spec):
    from openapi_spec_validator import validate

    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises on an invalid description


def test_openapi_covers_every_api_route(app, spec):
    catalogue = app.extensions["coderef.questions"]
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/") or rule.rule == "/sparql"):
            continue
        if rule.rule == "/api/questions/<qid>":
            wanted = {f"/api/questions/{q.id}" for q in catalogue}
        else:
            wanted = {re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", rule.rule)}
        assert wanted <= documented, f"{rule.rule} is not in /api/openapi.json"
        for path in wanted:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in spec["paths"][path], f"{method} {path}"


def test_openapi_documents_each_question_parameter(app, spec):
    for q in app.extensions["coderef.questions"]:
        operation = spec["paths"][f"/api/questions/{q.id}"]["get"]
        names = {p["name"]: p for p in operation["parameters"]}
        assert set(names) == {p.name for p in q.params} | {"format", "limit", "offset"}
        for p in q.params:
            assert names[p.name]["required"] is p.required
        row = operation["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]
        gathered = {"sources"} if "source" in q.columns else set()  # issue 16: sources gathered per fact
        assert set(row["properties"]["rows"]["items"]["properties"]) == set(q.columns) | gathered


def test_openapi_answer_schema_matches_an_answer(client, spec):
    import jsonschema

    schema = {**spec["paths"]["/api/questions/modifiers"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
              "components": spec["components"]}
    schema["allOf"] = [{"$ref": "#/components/schemas/Answer"}, schema["allOf"][1]]
    jsonschema.validate(ok(client, "/api/questions/modifiers?code=0584T"), schema)
    error = client.get("/api/questions/modifiers?code=9999T").get_json()
    jsonschema.validate(error, {**spec["components"]["schemas"]["Error"]})


# ------------------------------------------------------------------ validate (shape only)

@pytest.mark.embedded_only
def test_validate_shape(root_copy):
    """Over the ontology alone (validating the whole reference is measured, not tested here)."""
    from server import create_app

    for path in (root_copy / "data").rglob("*.ttl"):
        path.unlink()
    client = create_app({"TESTING": True, "ROOT": str(root_copy)}).test_client()
    body = ok(client, "/api/validate")
    assert isinstance(body["conforms"], bool) and isinstance(body["results"], list)
    for result in body["results"][:20]:
        assert {"severity", "focus", "path", "message", "shape"} <= set(result)
