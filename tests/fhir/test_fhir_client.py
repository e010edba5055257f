"""An integrator's view: plain `requests` against /fhir on a real server on 127.0.0.1.

$lookup of CPT 0584T, and $validate-code of ICD-10-CM E10.649 (billable) and E10.64 (a
valid code, but not billable), the way a claim scrubber would ask.
"""

import pytest
import requests

from fhir_models import parse
from support.serving import served

CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
JSON = {"Accept": "application/fhir+json"}


@pytest.fixture(scope="module")
def base(fhir_app):
    with served(fhir_app) as url:
        yield url + "/fhir"


def _param(resource, name):
    return [p for p in resource["parameter"] if p["name"] == name]


def test_lookup_0584T(base, fhir_client):
    r = requests.get(f"{base}/CodeSystem/$lookup", params={"system": CPT, "code": "0584T"}, headers=JSON, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/fhir+json")
    answer = r.json()
    parse(answer)
    label = fhir_client.get("/api/codes/0584T").get_json()["code"]["label"]  # what the reference says, not typed here
    assert _param(answer, "display")[0]["valueString"] == label
    status = [p for p in _param(answer, "property") if p["part"][0]["valueCode"] == "status"]
    assert status[0]["part"][-1]["valueCode"] == "active"


def _validate(base, code):
    body = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": ICD},
                                                         {"name": "code", "valueCode": code}]}
    r = requests.post(f"{base}/CodeSystem/$validate-code", json=body,
                      headers=JSON | {"Content-Type": "application/fhir+json"}, timeout=30)
    assert r.status_code == 200
    parse(r.json())
    return r.json()


def test_validate_billable_and_not_billable(base):
    billable = _validate(base, "E10.649")
    assert _param(billable, "result")[0]["valueBoolean"] is True
    assert not _param(billable, "issues")
    category = _validate(base, "E10.64")
    assert _param(category, "result")[0]["valueBoolean"] is True  # a real code of the set ...
    texts = [i["details"]["text"] for i in _param(category, "issues")[0]["resource"]["issue"]]
    assert any("not billable" in t and "E10.649" in t for t in texts), texts  # ... that a claim cannot carry
    unknown = _validate(base, "E10.6499")
    assert _param(unknown, "result")[0]["valueBoolean"] is False
