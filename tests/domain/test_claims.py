"""The claim-line check (issue 5, item 1) over both stores: each finding type with a claim that
triggers it and one that does not, the clean Medicare clinical-trial claim, malformed claims,
the form, the CLI, and that a check writes nothing.

Codes, payers and policies in these claims are the reference's own (seed and fact sheet);
the NCT number is one of the two trials behind Lantidra's approval (fact sheet, section 5).
Codes a claim may carry that the reference does not describe (99213, E11.9, modifier LT) are
real codes of their code sets.
"""

import copy
import json
import re

import pytest

from server import claims
from server.cli import main as coderef
from server.graph.open import open_store
from support.errors import assert_error

ID = "https://w3id.org/coderef/id/"
EXAMPLE = claims.cfg.REPO_ROOT / "data" / "examples" / "claim-0584T-medicare-trial.json"


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def claim(sample, **changes) -> dict:
    out = copy.deepcopy(sample)
    out.update(changes)
    return out


def findings(client, body) -> list[dict]:
    response = client.post("/api/check-claim", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    answer = response.get_json()
    assert answer["ok"] is True and set(answer) == {"ok", "findings"}
    for f in answer["findings"]:
        assert set(f) == {"severity", "rule", "line", "message", "facts", "sources"}
        assert f["severity"] in ("error", "warning", "info") and f["message"].strip()
    return answer["findings"]


def of(found, rule, severity=None) -> list[dict]:
    """The findings of one rule (any rule when None), of one severity when given."""
    return [f for f in found if rule in (None, f["rule"]) and (severity is None or f["severity"] == severity)]


# ------------------------------------------------------------------ the clean claim


def test_medicare_trial_claim_for_0584T_is_questioned_for_its_g_code_only(client, sample):
    """POS 21, E10.649 + Z00.6, an NCT number, Q0 on 0584T: no error; one warning, the question
    whether Medicare takes 0584T at all (its counterpart G0341, with the guidance and sources that
    say so); the NCD's clinical-trial-only position is stated as information, naming the trial."""
    found = findings(client, sample)
    assert not of(found, None, "error"), found
    [question] = [f for f in found if f["severity"] == "warning"]
    assert question["rule"] == "medicare-counterpart" and question["line"] == 1
    assert "counterpart of 0584T is G0341" in question["message"]
    assert "inferred" in question["message"], "the relation is our inference and says so"
    assert {f"{ID}statement/rel-0584T-G0341", f"{ID}statement/gcodes-status"} <= set(question["facts"])
    assert any("openpayer.com" in s for s in question["sources"])
    [note] = of(found, "payer-coverage", "info")
    assert "NCD 260.3.1" in note["message"] and "NCT00679042" in note["message"]
    assert f"{ID}policy/medicare/ncd-260-3-1" in note["facts"]
    assert any("cms.gov" in s for s in note["sources"])


def test_medicare_trial_claim_with_the_g_code_is_clean(client, sample):
    """The same claim with Medicare's own code: nothing to question, nothing wrong."""
    found = findings(client, claim(sample, lines=[{"code": "G0341", "modifiers": ["Q0"]}]))
    assert not [f for f in found if f["severity"] in ("error", "warning")], found
    assert of(found, "payer-coverage", "info")


def test_counterpart_question_is_for_the_counterpart_payer_only(client, sample):
    aetna = findings(client, claim(sample, payer="aetna", clinical_trial_nct=None, diagnoses=["E10.649"],
                                   lines=[{"code": "0584T"}]))
    assert not of(aetna, "medicare-counterpart")
    for code, counterpart in (("0585T", "G0342"), ("0586T", "G0343")):
        found = findings(client, claim(sample, lines=[{"code": code, "modifiers": ["Q0"]}]))
        [question] = of(found, "medicare-counterpart", "warning")
        assert f"counterpart of {code} is {counterpart}" in question["message"]


def test_sample_claim_file_is_the_documented_shape(sample):
    assert set(sample) == set(claims.FIELDS)
    assert claims.parse_claim(sample).lines[0].code == "0584T"


# ------------------------------------------------------------------ each finding type

def test_bundled_service_is_an_error_naming_why_and_no_modifier(client, sample):
    lines = sample["lines"] + [{"code": "77001", "units": 1}, {"code": "36481"}]
    found = findings(client, claim(sample, lines=lines))
    errors = of(found, "bundled-service", "error")
    assert [f["line"] for f in errors] == [2, 3]
    assert "77001 is included in 0584T (line 1)" in errors[0]["message"]
    assert "Remove line 2." in errors[0]["message"]
    assert f"{ID}statement/0584T-bundle-77001" in errors[0]["facts"]
    assert f"{ID}statement/0584T-bundle-36481" in errors[1]["facts"]
    assert errors[0]["sources"], "the finding names the sources of the bundling"
    # no modifier is offered: the data marks none as separating these components, and says so
    assert not re.search(r"\b(59|XE|XS|XP|XU)\b", errors[0]["message"]), errors[0]["message"]
    assert "no modifier is known to separate them" in errors[0]["message"]
    assert f"{ID}statement/gap-ncci" in errors[0]["facts"]


@pytest.mark.parametrize("modifier", ["59", "XE", "XS", "XP", "XU"])
def test_distinct_service_modifier_does_not_unbundle_an_included_component(client, sample, modifier):
    """The descriptor includes the guidance and the portal access, and no modifier is known to
    separate them: 59 or an X modifier leaves the error, which cites the component, the data gap
    and the 0584T guidance for modifier 59 (the X modifiers are its subsets)."""
    lines = sample["lines"] + [{"code": "77001", "modifiers": [modifier]}, {"code": "36481", "modifiers": [modifier]}]
    found = findings(client, claim(sample, lines=lines))
    assert not of(found, "bundled-service", "info")
    errors = of(found, "bundled-service", "error")
    assert [f["line"] for f in errors] == [2, 3]
    for error in errors:
        assert f"Modifier {modifier} " in error["message"] and "does not make it separately reportable" in error["message"]
        assert "The guidance for 59 with 0584T: Only for a service that is truly distinct" in error["message"]
        assert {f"{ID}statement/0584T-mod-59", f"{ID}statement/gap-ncci", f"{ID}claim-rule/bundled-service"} <= set(error["facts"])
    # and a code billed without the code that includes it is not bundled at all
    alone = findings(client, claim(sample, lines=[{"code": "77001", "modifiers": [modifier]}]))
    assert not of(alone, "bundled-service")


def test_payer_that_calls_the_code_investigational_is_a_warning_naming_the_policy(client, sample):
    found = findings(client, claim(sample, payer="cigna", clinical_trial_nct=None,
                                   diagnoses=["E10.649"], lines=[{"code": "0584T"}]))
    warnings = of(found, "payer-coverage", "warning")
    assert warnings and all("MM 0107" in f["message"] for f in warnings)
    assert any("(allogeneic) as investigational" in f["message"] for f in warnings)
    assert all(f"{ID}policy/cigna/mm-0107-2025" in f["facts"] for f in warnings)


def test_no_policy_found_is_a_warning_saying_what_was_searched_and_where_to_check(client, sample):
    """UnitedHealthcare: no islet policy was found. That is unknown, never clean: the warning
    quotes the search, names the data gap and the one related UHC policy the reference knows."""
    found = findings(client, claim(sample, payer="uhc", clinical_trial_nct=None, diagnoses=["E10.649"],
                                   lines=[{"code": "0584T"}]))
    [warning] = of(found, "no-position-found", "warning")
    message = warning["message"]
    assert message.startswith("Line 1: UnitedHealthcare's position on 0584T is unknown (no policy found).")
    assert "was found in a search of public sources" in message, "what was searched"
    assert "MPG232.02" in message and "Coverage is unknown, not clean" in message, "where to check"
    assert {f"{ID}statement/uhc-no-islet-policy", f"{ID}statement/gap-uhc-policy",
            f"{ID}policy/uhc/mpg232-02"} <= set(warning["facts"])
    assert warning["sources"]


def test_payer_without_any_position_on_the_code_is_a_warning(client, sample):
    found = findings(client, claim(sample, payer="bcbsa", clinical_trial_nct=None, diagnoses=["E10.649"],
                                   lines=[{"code": "0584T"}, {"code": "99213"}]))
    [warning] = of(found, "no-position-found", "warning")
    assert warning["line"] == 1, "99213 has no payer positions in the reference: not in the payers' research"
    assert "records no position of Blue Cross Blue Shield Association on 0584T" in warning["message"]
    # a policy whose position was not retrieved is unknown too
    ms = findings(client, claim(sample, payer="bcbs-ms", clinical_trial_nct=None, diagnoses=["E10.649"],
                                lines=[{"code": "0584T"}]))
    [unknown] = of(ms, "no-position-found", "warning")
    assert "(position not retrieved)" in unknown["message"] and "A.7.03.12" in unknown["message"]
    # a payer whose position is known is not questioned for it
    for payer in ("aetna", "cigna", "medicare"):
        known = findings(client, claim(sample, payer=payer, clinical_trial_nct=None, diagnoses=["E10.649"],
                                       lines=[{"code": "0584T"}]))
        assert not of(known, "no-position-found"), payer


def test_payer_coverage_only_for_positions_in_force_and_flagged(client, sample):
    before = claim(sample, payer="cigna", date_of_service="2025-09-25", clinical_trial_nct=None,
                   diagnoses=["E10.649"], lines=[{"code": "0584T"}])
    assert not of(findings(client, before), "payer-coverage"), "MM 0107 (2025) is in force from 2025-09-26"
    aetna = claim(sample, payer="aetna", clinical_trial_nct=None, diagnoses=["E10.649"], lines=[{"code": "0584T"}])
    assert not of(findings(client, aetna), "payer-coverage"), "covered with criteria is not flagged"


def test_medicare_outside_a_trial_warns_twice(client, sample):
    found = findings(client, claim(sample, clinical_trial_nct=None, diagnoses=["E10.649"], lines=[{"code": "0584T"}]))
    messages = [f["message"] for f in of(found, "payer-coverage", "warning")]
    assert any("clinical trial only" in m for m in messages)
    assert any("not covered" in m for m in messages)
    assert not of(found, "trial-elements"), "a claim with no trial element is no trial claim"


def test_medicare_trial_claim_without_its_elements_is_an_error(client, sample):
    found = findings(client, claim(sample, clinical_trial_nct=None, lines=[{"code": "0584T"}]))
    errors = {f["message"] for f in of(found, "trial-elements", "error")}
    assert any("NCT number" in m for m in errors)
    assert any("modifier Q0 or modifier Q1" in m or "modifier Q1 or modifier Q0" in m for m in errors)
    no_z006 = findings(client, claim(sample, diagnoses=["E10.649"]))
    [missing] = of(no_z006, "trial-elements", "error")
    assert "diagnosis Z00.6" in missing["message"]
    assert f"{ID}statement/medicare-trial-claim" in missing["facts"]
    assert any("uclahealth" in s for s in missing["sources"])


def test_trial_elements_are_the_payers_guidance(client, sample):
    """Cigna states no clinical-trial claim guidance: the same claim gets no trial-elements finding."""
    found = findings(client, claim(sample, payer="cigna", clinical_trial_nct=None, lines=[{"code": "0584T"}]))
    assert not of(found, "trial-elements")


def test_excluded_place_of_service_is_a_warning(client, sample):
    found = findings(client, claim(sample, place_of_service="24"))
    [warning] = of(found, "excluded-place-of-service", "warning")
    assert "POS 24 (Ambulatory Surgical Center)" in warning["message"] and "Medicare" in warning["message"]
    assert warning["facts"] == [f"{ID}statement/0584T-pos-24-excluded", f"{ID}claim-rule/excluded-place-of-service"]
    assert not of(findings(client, sample), "excluded-place-of-service")
    # another payer's claim at POS 24: Medicare's exclusion is information only
    cigna = findings(client, claim(sample, payer="cigna", place_of_service="24"))
    assert [f["severity"] for f in of(cigna, "excluded-place-of-service")] == ["info"]


def test_no_diagnosis_among_the_indications_is_a_warning(client, sample):
    found = findings(client, claim(sample, diagnoses=["E11.9", "Z00.6"]))
    [warning] = of(found, "diagnosis-not-indicated", "warning")
    assert "E11.9" in warning["message"] and "E10.649" in warning["message"]
    assert f"{ID}statement/ind-E10.649" in warning["facts"]
    assert not of(findings(client, sample), "diagnosis-not-indicated")
    # the clinical-trial diagnosis alone supports no procedure
    assert of(findings(client, claim(sample, diagnoses=["Z00.6"])), "diagnosis-not-indicated", "warning")


def test_diagnosis_outside_the_code_set_or_not_billable_is_an_error(client, sample):
    found = findings(client, claim(sample, diagnoses=["E10.649", "Z00.6", "E10.64", "E10.6499"]))
    errors = {f["message"] for f in of(found, "invalid-diagnosis", "error")}
    assert any(m.startswith("Diagnosis E10.64 (Type 1 diabetes mellitus with hypoglycemia) is an ICD-10-CM category") for m in errors)
    assert "Diagnosis E10.6499 is not a code of the official ICD-10-CM code set." in errors
    assert all(f["line"] is None for f in of(found, "invalid-diagnosis"))
    assert not of(findings(client, claim(sample, diagnoses=["E10.649", "Z00.6", "E11.9"])), "invalid-diagnosis")


def test_undotted_diagnosis_is_read_as_its_code(client, sample):
    undotted = findings(client, claim(sample, diagnoses=["E10649", "Z006"]))
    assert not of(undotted, "invalid-diagnosis") and not of(undotted, "diagnosis-not-indicated")
    assert not of(undotted, "trial-elements"), "Z006 is read as Z00.6, the trial diagnosis"


def test_incompatible_modifiers_are_an_error(client, sample):
    found = findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["Q0", "GA", "GZ"]}]))
    [error] = of(found, "incompatible-modifiers", "error")
    assert "GA" in error["message"] and "GZ" in error["message"]
    assert set(error["facts"]) == {f"{ID}modifier/GA", f"{ID}modifier/GZ", f"{ID}claim-rule/incompatible-modifiers"}
    gy = findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["Q0", "GA", "GY"]}]))
    [error] = of(gy, "incompatible-modifiers", "error")
    assert "GA" in error["message"] and "GY" in error["message"]
    kx = findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["Q0", "KX", "GA"]}]))
    assert of(kx, "incompatible-modifiers", "error")
    assert not of(findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["Q0", "GA"]}])),
                  "incompatible-modifiers")


def test_modifier_that_does_not_apply_is_a_warning(client, sample):
    found = findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["Q0", "LT"]}]))
    [warning] = of(found, "modifier-not-applicable", "warning")
    assert "modifier LT" in warning["message"] and "0584T" in warning["message"]
    # XS counts as 59, which has guidance for 0584T; a code without guidance is not judged
    ok = findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["Q0", "XS"]}, {"code": "99213", "modifiers": ["LT"]}]))
    assert not of(ok, "modifier-not-applicable")


def test_deleted_modifier_is_an_error_naming_its_replacement(client, sample):
    found = findings(client, claim(sample, lines=[{"code": "0584T", "modifiers": ["QA"]}]))
    [error] = of(found, "deleted-modifier", "error")
    assert error["message"] == "Line 1: modifier QA is deleted; use Q0 instead."
    assert not of(findings(client, sample), "deleted-modifier")


def test_code_not_in_the_reference_is_information(client, sample):
    found = findings(client, claim(sample, lines=sample["lines"] + [{"code": "99213"}]))
    [note] = of(found, "unknown-code", "info")
    assert note["line"] == 2 and "99213" in note["message"]
    assert not of(findings(client, sample), "unknown-code")


def test_findings_are_ordered_most_severe_first(client, sample):
    found = findings(client, claim(sample, place_of_service="24", diagnoses=["E10.649", "Z00.6", "E10.64"],
                                   lines=sample["lines"] + [{"code": "77001"}]))
    ranks = [("error", "warning", "info").index(f["severity"]) for f in found]
    assert ranks == sorted(ranks) and ranks[0] == 0


# ------------------------------------------------------------------ nothing is written


def test_a_check_writes_nothing(client, store, sample):
    before = len(store)
    findings(client, claim(sample, lines=sample["lines"] + [{"code": "77001"}], place_of_service="24"))
    assert len(store) == before


# ------------------------------------------------------------------ malformed claims


@pytest.mark.parametrize("change, field", [
    ({"payer": None}, "payer"),
    ({"payer": "Not A Slug!"}, "payer"),
    ({"payer": "no-such-payer"}, "payer"),
    ({"date_of_service": "2026-02-30"}, "date_of_service"),
    ({"date_of_service": "03/02/2026"}, "date_of_service"),
    ({"place_of_service": "2a"}, "place_of_service"),
    ({"diagnoses": "E10.649"}, "diagnoses"),
    ({"diagnoses": ["E10.649", 7]}, "diagnoses[1]"),
    ({"diagnoses": ["<script>"]}, "diagnoses[0]"),
    ({"clinical_trial_nct": "NCT123"}, "clinical_trial_nct"),
    ({"lines": []}, "lines"),
    ({"lines": [{"code": "05"}]}, "lines[0].code"),
    ({"lines": [{"code": "0584T", "modifiers": ["Q"]}]}, "lines[0].modifiers[0]"),
    ({"lines": [{"code": "0584T", "modifiers": ["22", "59", "62", "76", "80"]}]}, "lines[0].modifiers"),
    ({"lines": [{"code": "0584T", "units": 0}]}, "lines[0].units"),
    ({"lines": [{"code": "0584T", "units": True}]}, "lines[0].units"),
    ({"lines": [{"code": "0584T", "unit": 1}]}, "lines[0].unit"),
    ({"payor": "medicare"}, "payor"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_malformed_claim_is_a_400_naming_the_field(client, sample, change, field):
    error = assert_error(client.post("/api/check-claim", json=claim(sample, **change)), 400)
    assert error.startswith(field + ":"), error


@pytest.mark.embedded_only
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"null"])
def test_body_that_is_not_a_claim_object_is_a_400(client, body):
    error = assert_error(client.post("/api/check-claim", data=body, content_type="application/json"), 400)
    assert error.startswith("claim:")


@pytest.mark.embedded_only
def test_get_is_not_allowed_on_the_api(client):
    assert_error(client.get("/api/check-claim"), 405)


# ------------------------------------------------------------------ rules are data


@pytest.mark.embedded_only
def test_every_rule_file_has_its_metadata_and_back(repo_root):
    import pyoxigraph as ox

    files = {p.stem for p in (repo_root / "rules").glob("*.rq") if not p.name.startswith("_")}
    graph = ox.Store()
    graph.load(path=str(repo_root / "data" / "claim-rules.ttl"), format=ox.RdfFormat.TURTLE)
    listed = {q.object.value.removeprefix(claims.RULE) for q in
              graph.quads_for_pattern(ox.NamedNode(claims.RULE_SET), ox.NamedNode(claims.CLM + "rule"), None)}
    severities = {q.subject.value.removeprefix(claims.RULE): q.object.value for q in
                  graph.quads_for_pattern(None, ox.NamedNode(claims.CLM + "severity"), None)}
    # The query rules, and the ICD-10-CM notes' edits made in Python (server/icd_claims.py).
    from server.icd_claims import RULES as NOTE_RULES

    assert files | set(NOTE_RULES) == listed == set(severities)
    assert not files & set(NOTE_RULES)
    assert set(severities.values()) <= set(claims.SEVERITIES)


@pytest.mark.embedded_only
def test_only_a_component_the_data_marks_separable_is_separated(root_copy, sample):
    """Mark XS as separating 77001's guidance from 0584T (cr:separatingModifier, in a copy of the
    data): 77001-XS beside 0584T drops to the rule's reduced severity, information; 77001-59 stays
    an error (59 is not named), and the plain error offers XS. No rule or code changes."""
    bundles = root_copy / "data" / "cpt-0584T.ttl"
    text = bundles.read_text(encoding="utf-8")
    edited = text.replace("    cr:reportedAloneBy cpt:77001 ;", "    cr:reportedAloneBy cpt:77001 ;\n    cr:separatingModifier <https://w3id.org/coderef/id/modifier/XS> ;")
    assert edited != text
    bundles.write_text(edited, encoding="utf-8")
    settings = {"ROOT": str(root_copy)}
    store = open_store(settings)

    def bundled(modifiers):
        body = claim(sample, lines=sample["lines"] + [{"code": "77001", "modifiers": modifiers}])
        return of(claims.check_claim(store, body, settings), "bundled-service")

    [info] = bundled(["XS"])
    assert info["severity"] == "info" and "Modifier XS (Separate structure) is one the reference records as separating it" in info["message"]
    assert f"{ID}modifier/XS" in info["facts"]
    [error] = bundled(["59"])
    assert error["severity"] == "error" and "Only modifier XS separates this component" in error["message"]
    [plain] = bundled([])
    assert plain["severity"] == "error" and "Only modifier XS separates" in plain["message"]


@pytest.mark.embedded_only
def test_reduced_severity_comes_from_the_data(root_copy, sample):
    """The rule's clm:reducedSeverity, not the query, says what a trial-named clinical-trial-only
    position is: change it to warning in a copy of data/claim-rules.ttl and the note becomes one."""
    rules_file = root_copy / "data" / "claim-rules.ttl"
    text = rules_file.read_text(encoding="utf-8")
    start = text.index("rule:payer-coverage a clm:ClaimRule")
    edited = text[:start] + text[start:].replace('clm:reducedSeverity "info"', 'clm:reducedSeverity "warning"', 1)
    assert edited != text
    rules_file.write_text(edited, encoding="utf-8")
    settings = {"ROOT": str(root_copy)}
    found = claims.check_claim(open_store(settings), sample, settings)
    assert of(found, "payer-coverage", "warning") and not of(found, "payer-coverage", "info")


def test_rule_queries_hold_no_severity_of_their_own(repo_root):
    """Every severity a finding can have is stated in data/claim-rules.ttl (clm:severity,
    clm:reducedSeverity): no rule file writes one."""
    for path in sorted((repo_root / "rules").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r'"(error|warning|info)"', text), f"{path.name} writes a severity of its own"


def test_every_finding_cites_its_rule(client, sample):
    found = findings(client, claim(sample, lines=sample["lines"] + [{"code": "77001"}, {"code": "99213"}]))
    assert found
    for f in found:
        assert f["facts"][-1] == f"{ID}claim-rule/{f['rule']}"


@pytest.mark.embedded_only
def test_a_rule_that_is_not_a_select_with_a_message_fails_loudly(tmp_path, repo_root):
    import shutil

    rules_dir = tmp_path / "rules"
    shutil.copytree(repo_root / "rules", rules_dir)
    (rules_dir / "broken.rq").write_text("SELECT ?line WHERE { ?s ?p ?o }", encoding="utf-8")
    with pytest.raises(claims.ConfigError, match="broken.rq"):
        claims.load_rules({"ROOT": str(tmp_path), "RULES_DIR": str(rules_dir)})


# ------------------------------------------------------------------ the form


@pytest.mark.embedded_only
def test_form_starts_from_the_sample_claim(client):
    page = client.get("/check-claim")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="date_of_service" type="date" value="2026-03-02"' in html
    assert "0584T, Q0, 1" in html
    assert re.search(r'<option value="medicare"\s+selected>Medicare</option>', html)


def test_form_shows_findings(client):
    page = client.post("/check-claim", data={
        "payer": "medicare", "date_of_service": "2026-03-02", "place_of_service": "24",
        "diagnoses": "E10.649, Z00.6", "clinical_trial_nct": "NCT00679042",
        "lines": "0584T, Q0 GA GZ, 1\n77001"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for rule in ("bundled-service", "incompatible-modifiers", "excluded-place-of-service"):
        assert f'data-rule="{rule}"' in html
    assert "to fix before the claim goes out" in html
    assert "&#34;Islet Cell Transplantation in the Context of a Clinical Trial&#34;" in html  # escaped quotes
    assert 'href="/id/statement/0584T-bundle-77001"' in html


@pytest.mark.embedded_only
def test_form_error_is_shown_escaped_with_a_400(client):
    page = client.post("/check-claim", data={
        "payer": "medicare", "date_of_service": "2026-03-02", "place_of_service": "21",
        "diagnoses": "<script>alert(1)</script>", "lines": "0584T"})
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "<strong>Diagnosis 1</strong>:" in html and "diagnoses[0]" not in html  # issue 16: a coder's words
    assert "<script>alert" not in html and "&lt;SCRIPT&gt;" in html


def test_the_form_reports_every_input_error_at_once(client):
    page = client.post("/check-claim", data={
        "payer": "medicare", "date_of_service": "02/03/2026", "place_of_service": "2a",
        "diagnoses": "E10.649", "lines": "0584T, Q0, 1\n05\n0584T, Q, x"})
    assert page.status_code == 400
    problems = re.findall(r"<li><strong>([^<]+)</strong>: ", page.get_data(as_text=True))
    assert problems == ["Date of service", "Place of service", "Line 2 code", "Line 3 modifier 1", "Line 3 units"]


def test_the_api_names_every_bad_field_in_one_message(client, sample):
    body = client.post("/api/check-claim", json=claim(sample, date_of_service="x", place_of_service="2a",
                                                        lines=[{"code": "05"}, {"code": "0584T", "units": 0}])).get_json()
    assert body["status"] == 400
    fields = [part.split(":", 1)[0] for part in body["error"].split("; ")]
    assert fields == ["date_of_service", "place_of_service", "lines[0].code", "lines[1].units"]


@pytest.mark.parametrize("path, words", [
    ("lines[0].code", "Line 1 code"), ("lines[2].modifiers[1]", "Line 3 modifier 2"), ("diagnoses[0]", "Diagnosis 1"),
    ("date_of_service", "Date of service"), ("lines", "Claim lines"), ("lines[0]", "Line 1"),
])
def test_fields_are_said_as_a_coder_says_them(path, words):
    assert claims.field_words(path) == words


# ------------------------------------------------------------------ coderef check-claim


@pytest.mark.embedded_only
def test_cli_checks_the_sample_claim(capsys):
    assert coderef(["check-claim", str(EXAMPLE), "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] is True and not [f for f in answer["findings"] if f["severity"] == "error"]


@pytest.mark.embedded_only
def test_cli_exit_codes(tmp_path, sample, capsys):
    bad = tmp_path / "bundled.json"
    bad.write_text(json.dumps(claim(sample, lines=sample["lines"] + [{"code": "77001"}])), encoding="utf-8")
    assert coderef(["check-claim", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "ERROR   line 2   bundled-service" in out and "1 error," in out
    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps(claim(sample, lines=[{"code": "05"}])), encoding="utf-8")
    assert coderef(["check-claim", str(malformed)]) == 2
    assert "lines[0].code:" in capsys.readouterr().err
