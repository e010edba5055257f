"""/fhir over the shipped reference: the graph's code systems, value sets and maps, errors, formats.

Expected values come from the reference itself (/api/codes, the same store and questions) or
from the issue (0584T, G0341, E10.64/E10.649); every FHIR answer is parsed by the fhir.resources models.
"""

import xml.etree.ElementTree as ET

import pytest

from fhir_models import parse

CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
SETS = "https://w3id.org/coderef/fhir/ValueSet/"


def fhir(client, path, status=200, **params):
    r = client.get(path, query_string=params, headers={"Accept": "application/fhir+json"})
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.content_type.startswith("application/fhir+json")
    body = r.get_json(force=True)
    parse(body)
    return body


def params_named(resource, name):
    return [p for p in resource["parameter"] if p["name"] == name]


def props(resource, code):
    return [p["part"][-1] for p in params_named(resource, "property") if p["part"][0]["valueCode"] == code]


@pytest.fixture(scope="module")
def code_0584T(fhir_client):
    return fhir_client.get("/api/codes/0584T").get_json()["code"]


def test_metadata_is_r4_in_json_and_xml(fhir_client):
    cs = fhir(fhir_client, "/fhir/metadata")
    assert cs["fhirVersion"] == "4.0.1" and cs["kind"] == "instance"
    assert {r["type"] for r in cs["rest"][0]["resource"]} == {"CodeSystem", "ValueSet", "ConceptMap"}
    tc = fhir(fhir_client, "/fhir/metadata", mode="terminology")
    assert {c["uri"] for c in tc["codeSystem"]} >= {CPT, ICD, HCPCS, POS}
    r = fhir_client.get("/fhir/metadata?_format=xml")
    assert r.content_type.startswith("application/fhir+xml")
    root = ET.fromstring(r.data)
    assert root.tag == "{http://hl7.org/fhir}CapabilityStatement"
    assert root.find("{http://hl7.org/fhir}fhirVersion").get("value") == "4.0.1"
    r = fhir_client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"})
    assert r.content_type.startswith("application/fhir+xml")


@pytest.mark.parametrize("url", [CPT, ICD, HCPCS, HCPCS.replace("http:", "https:"), POS])
def test_codesystem_search_by_canonical_url(fhir_client, url):
    found = fhir(fhir_client, "/fhir/CodeSystem", url=url)
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["url"] == url.replace("https://www.cms.gov/Medicare/Coding/HCPCS", "http://www.cms.gov/Medicare/Coding/HCPCS")


def test_codesystem_read_and_list(fhir_client):
    assert fhir(fhir_client, "/fhir/CodeSystem/icd-10-cm")["url"] == ICD
    assert fhir(fhir_client, "/fhir/CodeSystem")["total"] == 5
    fhir(fhir_client, "/fhir/CodeSystem/snomed", status=404)


def test_lookup_icd10cm_hierarchy_and_billable(fhir_client):
    leaf = fhir(fhir_client, "/fhir/CodeSystem/$lookup", system=ICD, code="E10.649")
    assert [p["valueCode"] for p in props(leaf, "parent")] == ["E10.64"]
    assert props(leaf, "billable") == [{"name": "value", "valueBoolean": True}]
    assert props(leaf, "inactive") == [{"name": "value", "valueBoolean": False}]
    category = fhir(fhir_client, "/fhir/CodeSystem/$lookup", system=ICD, code="E10.64")
    assert {"E10.641", "E10.649"} <= {p["valueCode"] for p in props(category, "child")}
    assert props(category, "billable")[0]["valueBoolean"] is False


def test_lookup_0584T_matches_the_code_page(fhir_client, code_0584T):
    answer = fhir(fhir_client, "/fhir/CodeSystem/$lookup", system=CPT, code="0584T")
    assert params_named(answer, "display")[0]["valueString"] == code_0584T["label"]
    assert {d["part"][-1]["valueString"] for d in params_named(answer, "designation")} == set(code_0584T["altLabels"])
    lower = fhir(fhir_client, "/fhir/CodeSystem/$lookup", system=CPT, code="0584t")  # codes are case-insensitive
    assert params_named(lower, "code")[0]["valueCode"] == "0584T"


def test_subsumes_on_icd10cm(fhir_client):
    def outcome(a, b):
        return fhir(fhir_client, "/fhir/CodeSystem/$subsumes", system=ICD, codeA=a, codeB=b)["parameter"][0]["valueCode"]

    assert outcome("E10.64", "E10.649") == "subsumes"
    assert outcome("E10.649", "E10.64") == "subsumed-by"
    assert outcome("E10.649", "E10.649") == "equivalent"
    assert outcome("E10.641", "E10.649") == "not-subsumed"


def test_indications_value_set_expands_pages_and_filters(fhir_client, code_0584T):
    want = list(dict.fromkeys(i["diagnosis"]["notation"] for i in code_0584T["indications"]))
    whole = fhir(fhir_client, "/fhir/ValueSet/$expand", url=SETS + "indications-0584T")["expansion"]
    assert whole["total"] == len(want) and sorted(c["code"] for c in whole["contains"]) == sorted(want)
    page = fhir(fhir_client, "/fhir/ValueSet/$expand", url=SETS + "indications-0584T", count=3, offset=2)["expansion"]
    assert page["total"] == len(want) and [c["code"] for c in page["contains"]] == [c["code"] for c in whole["contains"]][2:5]
    hypo = fhir(fhir_client, "/fhir/ValueSet/$expand", url=SETS + "indications-0584T", filter="hypoglycemia")["expansion"]
    assert hypo["contains"] and all("hypoglycemia" in c["display"].lower() for c in hypo["contains"])


def test_family_and_modifier_value_sets(fhir_client, code_0584T):
    family = fhir(fhir_client, "/fhir/ValueSet/$expand", url=SETS + "family-0584T")["expansion"]["contains"]
    approaches = {r["code"]["notation"] for r in code_0584T["relatedCodes"] if r["relationType"]["iri"].endswith("other-approach")}
    assert {c["code"] for c in family} == approaches | {"0584T"}
    modifiers = fhir(fhir_client, "/fhir/ValueSet/$expand", url=SETS + "modifiers-0584T")["expansion"]["contains"]
    assert {c["code"] for c in modifiers} == {m["modifier"]["notation"] for m in code_0584T["modifiers"]}
    assert fhir(fhir_client, "/fhir/ValueSet/family-0584T")["url"] == SETS + "family-0584T"
    assert fhir(fhir_client, "/fhir/ValueSet", url=SETS + "modifiers-0584T")["total"] == 1
    fhir(fhir_client, "/fhir/ValueSet/indications-9999T", status=404)


def test_validate_code_in_the_indications_set(fhir_client):
    ok = fhir(fhir_client, "/fhir/ValueSet/$validate-code", url=SETS + "indications-0584T", system=ICD, code="E10.649")
    assert params_named(ok, "result")[0]["valueBoolean"] is True
    out = fhir(fhir_client, "/fhir/ValueSet/$validate-code", url=SETS + "indications-0584T", system=ICD, code="E10.641x")
    assert params_named(out, "result")[0]["valueBoolean"] is False


def test_translate_counterparts_successors_and_indications(fhir_client, code_0584T):
    def matches(**params):
        answer = fhir(fhir_client, "/fhir/ConceptMap/$translate", **params)
        return {(m["part"][1]["valueCoding"]["code"], m["part"][0]["valueCode"]): m for m in params_named(answer, "match")}

    medicare = matches(system=CPT, code="0584T", targetSystem=HCPCS)
    assert list(medicare) == [("G0341", "equivalent")]
    comment = medicare[("G0341", "equivalent")]["part"][-1]["valueString"]
    assert "confidence: inferred" in comment and "sources: " in comment
    for historical in ("0141T", "0142T", "0143T"):
        assert ("0584T", "relatedto") in matches(system=CPT, code=historical)
    indications = matches(system=CPT, code="0584T", targetSystem=ICD)
    assert {code for code, _ in indications} == {i["diagnosis"]["notation"] for i in code_0584T["indications"]}
    none = fhir(fhir_client, "/fhir/ConceptMap/$translate", system=CPT, code="0143T", targetSystem=ICD)
    assert params_named(none, "result")[0]["valueBoolean"] is False


@pytest.mark.parametrize(("path", "params", "status", "words"), [
    ("/fhir/CodeSystem/$lookup", {"system": CPT, "code": "9999T"}, 404, "Unknown code '9999T'"),
    ("/fhir/CodeSystem/$lookup", {"system": "http://example.org/cs", "code": "x"}, 404, "http://example.org/cs"),
    ("/fhir/CodeSystem/$lookup", {"system": CPT}, 400, "'code'"),
    ("/fhir/ValueSet/$expand", {"url": SETS + "indications-0584T", "count": "many"}, 400, "'count'"),
    ("/fhir/ValueSet/$expand", {"url": "http://example.org/vs"}, 404, "http://example.org/vs"),
    ("/fhir/ValueSet/$expand", {}, 400, "'url'"),
    ("/fhir/ValueSet/$validate-code", {"url": SETS + "family-0584T"}, 400, "'code'"),
    ("/fhir/CodeSystem/$subsumes", {"system": ICD, "codeA": "E10.64"}, 400, "'codeB'"),
    ("/fhir/ConceptMap/$closure", {}, 404, "$closure"),
    ("/fhir/Patient/1", {}, 404, "/fhir/Patient/1"),
    ("/fhir/metadata", {"_format": "turtle"}, 406, "'_format'"),
])
def test_errors_are_operation_outcomes_naming_the_problem(fhir_client, path, params, status, words):
    outcome = fhir(fhir_client, path, status=status, **params)
    assert outcome["resourceType"] == "OperationOutcome"
    assert words in outcome["issue"][0]["details"]["text"]


def test_post_parameters_and_bad_bodies(fhir_client):
    body = {"resourceType": "Parameters", "parameter": [{"name": "system", "valueUri": ICD},
                                                         {"name": "code", "valueCode": "E10.649"}]}
    r = fhir_client.post("/fhir/CodeSystem/$lookup", json=body)
    assert r.status_code == 200 and parse(r.get_json(force=True))
    for bad, words in (("not json", "not JSON"), ('{"resourceType": "Patient"}', "Parameters")):
        r = fhir_client.post("/fhir/CodeSystem/$lookup", data=bad, content_type="application/fhir+json")
        assert r.status_code == 400 and words in r.get_json(force=True)["issue"][0]["details"]["text"]


def test_read_only(fhir_client):
    for method in ("put", "delete", "patch", "post"):
        r = getattr(fhir_client, method)("/fhir/CodeSystem/cpt")
        assert r.status_code == 405 and "read-only" in r.get_json(force=True)["issue"][0]["details"]["text"]


def test_xml_parameters_carry_their_outcome(fhir_client):
    r = fhir_client.get("/fhir/CodeSystem/$validate-code", query_string={"url": ICD, "code": "E10.64", "_format": "xml"})
    ns = {"f": "http://hl7.org/fhir"}
    root = ET.fromstring(r.data)
    by_name = {p.find("f:name", ns).get("value"): p for p in root.findall("f:parameter", ns)}
    assert by_name["result"].find("f:valueBoolean", ns).get("value") == "true"
    texts = [t.get("value") for t in by_name["issues"].iterfind(".//f:OperationOutcome/f:issue/f:details/f:text", ns)]
    assert any("not billable" in t for t in texts)


def test_accept_language_answers_are_not_kept(fhir_client):
    r = fhir_client.get("/fhir/CodeSystem/$validate-code", query_string={"url": ICD, "code": "E10.649"},
                        headers={"Accept-Language": "de"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"


def test_a_catastrophic_regex_is_stopped(fhir_client):
    """A filter's regex comes from the request: (a|aa)+$ against a long code must not hang a worker."""
    codes = [{"code": "a" * 60 + "b", "display": "long"}]
    cs = {"resourceType": "CodeSystem", "url": "http://example.org/cs", "status": "active", "content": "complete",
          "concept": codes}
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs", "status": "active", "compose": {"include": [
        {"system": "http://example.org/cs", "filter": [{"property": "code", "op": "regex", "value": "(a|aa)+$"}]}]}}
    body = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": "http://example.org/vs"},
                                                         {"name": "tx-resource", "resource": cs},
                                                         {"name": "tx-resource", "resource": vs}]}
    r = fhir_client.post("/fhir/ValueSet/$expand", json=body)
    assert r.status_code == 422 and "regex" in r.get_json(force=True)["issue"][0]["details"]["text"]


def test_same_answers_over_both_backends(client):
    """The embedded store and a real Oxigraph server (the `client` fixture runs on both) answer alike."""
    lookup = fhir(client, "/fhir/CodeSystem/$lookup", system=ICD, code="E10.649")
    assert [p["valueCode"] for p in props(lookup, "parent")] == ["E10.64"]
    expansion = fhir(client, "/fhir/ValueSet/$expand", url=SETS + "family-0584T")["expansion"]
    assert {c["code"] for c in expansion["contains"]} == {"0584T", "0585T", "0586T"}
    answer = fhir(client, "/fhir/ConceptMap/$translate", system=CPT, code="0584T", targetSystem=HCPCS)
    assert [m["part"][1]["valueCoding"]["code"] for m in params_named(answer, "match")] == ["G0341"]


@pytest.mark.parametrize(("resource", "words"), [
    ({"resourceType": "CodeSystem", "url": "http://example.org/cs", "concept": [{"display": "no code"}]}, "concept 0"),
    ({"resourceType": "CodeSystem", "concept": []}, "has no url"),
    ({"resourceType": "ValueSet", "url": "http://example.org/vs", "compose": {"include": "all"}}, "compose.include"),
    ({"resourceType": "ValueSet", "url": "http://example.org/vs", "compose": {"include": [{"filter": [1]}]}},
     "compose.include[0].filter"),
    ({"resourceType": "Patient"}, "tx-resource"),
])
def test_a_malformed_tx_resource_is_refused_naming_where(fhir_client, resource, words):
    body = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": "http://example.org/vs"},
                                                         {"name": "tx-resource", "resource": resource}]}
    r = fhir_client.post("/fhir/ValueSet/$expand", json=body)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert words in r.get_json(force=True)["issue"][0]["details"]["text"]
