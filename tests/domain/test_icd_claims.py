"""Claim edits from the ICD-10-CM notes (issue 17): Excludes1 pairs an error unless the claim
says the conditions are unrelated, Excludes2 information, code first / use additional code
not satisfied a warning, a code lacking its 7th character an error; each finding cites the
note. The diagnoses are real codes of the 2026 set; the notes are the package's."""

import copy
import json

import pytest
import simple_icd_10_cm as icd

from server import claims

EXAMPLE = claims.cfg.REPO_ROOT / "data" / "examples" / "claim-0584T-medicare-trial.json"
NOTE = "https://w3id.org/coderef/id/icd10cm/note/"


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def check(client, sample, diagnoses, **changes) -> list[dict]:
    body = copy.deepcopy(sample)
    body.update(diagnoses=diagnoses, **changes)
    response = client.post("/api/check-claim", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return [f for f in response.get_json()["findings"] if f["rule"].startswith("icd-")]


def test_excludes1_pair_is_an_error_citing_the_note(client, sample):
    assert "type 2 diabetes mellitus (E11.-)" in icd.get_excludes1("E10")
    [finding] = [f for f in check(client, sample, ["E10.649", "E11.9"]) if f["rule"] == "icd-excludes1"]
    assert finding["severity"] == "error"
    assert "E10.649 and E11.9" in finding["message"] and "type 2 diabetes mellitus (E11.-)" in finding["message"]
    assert f"{NOTE}E10/excludes1/9" in finding["facts"]
    assert any("simple-icd-10-cm" in s for s in finding["sources"])


def test_unrelated_conditions_turn_the_excludes1_error_into_a_warning(client, sample):
    found = check(client, sample, ["E10.649", "E11.9"], unrelated_conditions=[["E11.9", "E10.649"]])
    [finding] = [f for f in found if f["rule"] == "icd-excludes1"]
    assert finding["severity"] == "warning" and "unrelated" in finding["message"]


def test_excludes2_pair_is_information(client, sample):
    assert "presence of vascular grafts (Z95.-)" in icd.get_excludes2("Z94")
    found = check(client, sample, ["E10.649", "Z94.83", "Z95.1"])
    [finding] = [f for f in found if f["rule"] == "icd-excludes2"]
    assert finding["severity"] == "info" and f"{NOTE}Z94/excludes2/1" in finding["facts"]
    assert not [f for f in found if f["rule"] == "icd-excludes1"]


def test_use_additional_code_not_satisfied_is_a_warning(client, sample):
    """K86.0: use additional code to identify alcohol abuse and dependence (F10.-)."""
    found = check(client, sample, ["K86.0"])
    [finding] = [f for f in found if f["rule"] == "icd-use-additional-code"]
    assert finding["severity"] == "warning" and "F10" in finding["message"]
    assert f"{NOTE}K86.0/use-additional-code/1" in finding["facts"]
    satisfied = check(client, sample, ["K86.0", "F10.20"])
    assert not [f for f in satisfied if f"{NOTE}K86.0/use-additional-code/1" in f["facts"]]


def test_a_note_that_says_if_applicable_is_information(client, sample):
    """E10.64: use additional code for hypoglycemia level, if applicable (E16.A-)."""
    found = check(client, sample, ["E10.649"])
    [finding] = [f for f in found if f["rule"] == "icd-use-additional-code"]
    assert finding["severity"] == "info"
    satisfied = check(client, sample, ["E10.649", "E16.A1"])
    assert not [f for f in satisfied if f"{NOTE}E10.64/use-additional-code/1" in f["facts"]]


def test_code_first_wants_the_named_code_listed_before(client, sample):
    """F02: code first the underlying physiological condition (G30.-, ...)."""
    assert "G30.-" in icd.get_code_first("F02")
    missing = [f for f in check(client, sample, ["F02.80"]) if f["rule"] == "icd-code-first"]
    assert [f["severity"] for f in missing] == ["warning"]
    after = [f for f in check(client, sample, ["F02.80", "G30.9"]) if f["rule"] == "icd-code-first"]
    assert [f["severity"] for f in after] == ["warning"] and "list it first" in after[0]["message"]
    assert not [f for f in check(client, sample, ["G30.9", "F02.80"]) if f["rule"] == "icd-code-first"]


def test_a_code_without_its_seventh_character_is_an_error(client, sample):
    [finding] = [f for f in check(client, sample, ["S72.001"]) if f["rule"] == "icd-seventh-character"]
    assert finding["severity"] == "error" and "7th character" in finding["message"]
    assert f"{NOTE}S72/seventh-character/1" in finding["facts"]
    assert not [f for f in check(client, sample, ["S72.001A"]) if f["rule"] == "icd-seventh-character"]


def test_the_clean_sample_claim_gets_no_error_or_warning_from_the_notes(client, sample):
    assert not [f for f in check(client, sample, sample["diagnoses"]) if f["severity"] in ("error", "warning")]


@pytest.mark.parametrize("value, names", [
    ("E10.9", "unrelated_conditions: expected a list"),
    ([["E10.649"]], "unrelated_conditions[0]: expected two"),
    ([["E10.649", "R73.9"]], "unrelated_conditions[0][1]: 'R73.9' is not one of the claim's diagnoses"),
    ([["E10.649", "E10649"]], "unrelated_conditions[0]: a pair is two different diagnoses"),
])
def test_a_bad_override_is_refused_naming_it(client, sample, value, names):
    body = copy.deepcopy(sample)
    body["unrelated_conditions"] = value
    response = client.post("/api/check-claim", json=body)
    assert response.status_code == 400
    assert names in json.dumps(response.get_json())
