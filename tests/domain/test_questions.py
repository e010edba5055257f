"""Questions (issue 3, item 1): every queries/*.rq file has a usable header, a broken one
stops the start-up naming the file, the minimum catalogue exists, and every question answers
correctly, with its sources, for 0584T and for another code of its family, over both stores.

The facts asserted come from the seed publication (/work/shared/seed/) and the fact sheet
(/work/shared/reference/factsheet.txt); each test names the one it checks.
"""

from urllib.parse import quote, urlencode

import pytest
import yaml

from support.answers import column, run, where
from server import create_app
from server.errors import BadRequest, NotFound
from server.questions import PARAM_TYPES, HeaderError, load_catalogue, read_question

MINIMUM_CATALOGUE = (
    "code_summary", "bundled_services", "modifiers", "indications", "payer_coverage",
    "sites_of_service", "related_codes", "codes_bundling", "codes_for_indication",
    "coverage_matrix", "coverage_conflicts", "stale_policies", "sources",
)
ID = "https://w3id.org/coderef/id/"
CR = "https://w3id.org/coderef/ontology#"
CONFIDENCE = ID + "vocab/confidence/"
SEED = ID + "source/seed-0584t"
FACTSHEET = ID + "source/factsheet"


# ------------------------------------------------------------------ helpers

def header_of(path) -> dict:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#+"):
            break
        lines.append(line[2:].removeprefix(" "))
    return yaml.safe_load("\n".join(lines))


# ------------------------------------------------------------------ the files

@pytest.fixture(scope="module")
def query_files(repo_root):
    return sorted((repo_root / "queries").glob("*.rq"))


def test_every_file_has_a_full_header(query_files):
    assert query_files
    for path in query_files:
        header = header_of(path)
        assert set(header) == {"summary", "description", "params", "tags"}, path.name
        assert isinstance(header["summary"], str) and header["summary"].strip(), path.name
        assert isinstance(header["description"], str) and len(header["description"]) > 20, path.name
        assert isinstance(header["tags"], list) and header["tags"], path.name
        assert isinstance(header["params"], list), path.name
        for param in header["params"]:
            # Written out, with a type: the shorthand `[code]` would hide the type.
            assert isinstance(param, dict), f"{path.name}: {param!r}"
            assert param["type"] in PARAM_TYPES, f"{path.name}: {param!r}"
            assert param.get("description"), f"{path.name}: {param['name']} has no description"


def test_every_file_parses_and_projects_a_source(query_files):
    for path in query_files:
        question = read_question(path)
        assert question.id == path.stem
        assert question.columns, path.name
        # Every answer row that states a fact can show where it comes from.
        assert {"source", "sourceTitle", "sourceUrl"} <= set(question.columns), f"{path.name} has no source columns"


def test_minimum_catalogue_exists(repo_root):
    catalogue = load_catalogue(repo_root / "queries")
    missing = [qid for qid in MINIMUM_CATALOGUE if qid not in catalogue]
    assert not missing


BROKEN_HEADERS = {
    "yaml": ("#+ summary: [unclosed\n", "not valid YAML"),
    "unknown key": ("#+ summary: s\n#+ descripton: typo\n", "unknown header key"),
    "no summary": ("#+ description: d\n#+ params: []\n", "needs a summary"),
    "param type": ("#+ summary: s\n#+ params:\n#+   - {name: code, type: cpt}\n", "unknown type 'cpt'"),
    "param key": ("#+ summary: s\n#+ params:\n#+   - {name: code, type: code, requird: true}\n", "unknown parameter key"),
    "param unused": ("#+ summary: s\n#+ params:\n#+   - {name: payer, type: payer}\n", "appears nowhere"),
    "no header": ("", "no #+ header"),
    "binds a single code": ("#+ summary: s\n#+ params:\n#+   - {name: code, type: icd10cm, binds: [code, other]}\n", "binds is for an icd10cm-list"),
    "binds three": ("#+ summary: s\n#+ params:\n#+   - {name: codes, type: icd10cm-list, binds: [code, other, third]}\n", "one or two distinct variable names"),
    "binds one twice": ("#+ summary: s\n#+ params:\n#+   - {name: codes, type: icd10cm-list, binds: [code, code]}\n", "one or two distinct variable names"),
    "binds unused": ("#+ summary: s\n#+ params:\n#+   - {name: codes, type: icd10cm-list, binds: [code, other]}\n", "'other' appears nowhere"),
}
BODY = "SELECT ?component ?source WHERE { ?code <https://w3id.org/coderef/ontology#bundledService> ?component }\n"


@pytest.mark.parametrize("case", sorted(BROKEN_HEADERS))
def test_broken_header_is_refused_naming_the_file(tmp_path, case):
    header, message = BROKEN_HEADERS[case]
    path = tmp_path / "bundled_services.rq"
    path.write_text(header + "\n" + BODY, encoding="utf-8")
    with pytest.raises(HeaderError) as err:
        read_question(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize("body, message", [
    ("SELECT ?x WHERE { ?x ?p }\n", "does not parse"),
    ("ASK { ?code ?p ?o }\n", "SELECT"),
    ("SELECT ?x WHERE { { SELECT ?x WHERE { ?x ?p ?code } } }\n", "subquery"),
    ("SELECT ?x WHERE { ?x ?p ?o BIND(?code AS ?y) }\n", "BIND"),
])
def test_broken_query_is_refused_naming_the_file(tmp_path, body, message):
    path = tmp_path / "broken.rq"
    path.write_text("#+ summary: s\n#+ params:\n#+   - {name: code, type: code}\n\n" + body, encoding="utf-8")
    with pytest.raises(HeaderError) as err:
        read_question(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.embedded_only
def test_start_up_fails_loudly_on_a_bad_header(root_copy):
    # A data-light copy: the start-up must stop at the questions, whatever the data.
    for path in (root_copy / "data").glob("*.ttl"):
        path.unlink()
    broken = root_copy / "queries" / "modifiers.rq"
    broken.write_text(broken.read_text(encoding="utf-8").replace("#+ tags:", "#+ tagz:"), encoding="utf-8")
    with pytest.raises(HeaderError) as err:
        create_app({"TESTING": True, "ROOT": str(root_copy)})
    assert "modifiers.rq" in str(err.value) and "tagz" in str(err.value)


# ------------------------------------------------------------------ answers: every row sourced

SOURCED_CASES = [
    ("code_summary", {"code": "0584T"}), ("code_summary", {"code": "G0341"}),
    ("bundled_services", {"code": "0584T"}), ("bundled_services", {"code": "48160"}),
    ("modifiers", {"code": "0584T"}), ("modifiers", {"code": "0586T"}),
    ("indications", {"code": "0584T"}), ("indications", {"code": "48160"}),
    ("payer_coverage", {"code": "0584T"}), ("payer_coverage", {"code": "G0341"}),
    ("sites_of_service", {"code": "0584T"}), ("sites_of_service", {"code": "0586T"}),
    ("related_codes", {"code": "0584T"}), ("related_codes", {"code": "0586T"}),
    ("codes_bundling", {"code": "77001"}), ("codes_bundling", {"code": "0584T"}),
    ("codes_for_indication", {"icd": "E10.649"}), ("codes_for_indication", {"icd": "K86.1"}),
    ("coverage_matrix", {}), ("coverage_conflicts", {}), ("stale_policies", {"as_of": "2026-01-01"}),
    ("sources", {"code": "0584T"}), ("payer_policies", {}),
    ("benchmarks", {"code": "0584T"}), ("billing_guidance", {"code": "0584T"}),
    ("clinical_scenario", {"code": "0584T"}), ("data_gaps", {"code": "0584T"}),
    ("overlapping_policies", {"as_of": "2026-01-01"}), ("secondary_only_positions", {"payer": "cigna"}),
    ("payer_gaps", {"payer": "medicare"}),
    ("codes_using_modifier", {"modifier": "KX"}), ("codes_using_modifier", {"modifier": "modifier/22"}),
    ("codes_at_place_of_service", {"place": "21"}), ("codes_at_place_of_service", {"place": "pos/22"}),
    ("icd_notes", {"icd": "E10.649"}), ("icd_notes", {"icd": "Z94.83"}),
    ("excludes_pairs", {"codes": "E10.9 E13 R73.9"}),
]
# Questions with no row in the shipped data (it is consistent there): their rows and
# sources are checked on fixture graphs by the named test module.
SOURCED_ELSEWHERE = {"family_inconsistencies": "tests/reference/test_consistency.py"}


@pytest.mark.parametrize("qid, params", SOURCED_CASES, ids=lambda v: v if isinstance(v, str) else "-".join(v.values()))
def test_every_row_shows_its_source(app, qid, params):
    records = run(app, qid, **params)
    assert records, f"{qid} {params} answered nothing"
    unsourced = [r for r in records if not r.get("source")]
    assert not unsourced, unsourced[:2]
    assert all(r["source"].startswith(ID + "source/") for r in records)
    # One row per fact and source: a repeated row would count a statement twice.
    distinct = {tuple(r.items()) for r in records}
    assert len(distinct) == len(records), f"{len(records) - len(distinct)} repeated rows"


def test_every_question_in_the_catalogue_is_covered_by_a_sourced_case(app):
    asked = {qid for qid, _ in SOURCED_CASES} | set(SOURCED_ELSEWHERE)
    assert set(app.extensions["coderef.questions"].questions) <= asked


# ------------------------------------------------------------------ answers: the facts

def test_code_summary(app):
    # Seed: "pancreatic beta islet cell transplantation by infusion into the portal vein";
    # fact sheet: short descriptor "Perq islet cell transplant", effective 1/1/2020, percutaneous.
    rows = run(app, "code_summary", code="0584T")
    assert column(rows, "notation") == {"0584T"}
    row = rows[0]
    assert row["shortDescriptor"] == "Perq islet cell transplant"
    assert row["codeSystemLabel"] == "CPT Category III"
    assert row["effectiveDate"] == "2020-01-01"
    assert row["approachLabel"] == "percutaneous"
    assert "portal vein" in row["label"].lower()
    assert SEED in column(rows, "source")
    # Fact sheet: 0586T open, short descriptor "Open islet cell transplant"; G0341 from Oct 1, 2004.
    open_code = run(app, "code_summary", code="0586T")[0]
    assert (open_code["shortDescriptor"], open_code["approachLabel"]) == ("Open islet cell transplant", "open")
    g = run(app, "code_summary", code="G0341")[0]
    assert (g["shortDescriptor"], g["codeSystemLabel"]) == ("Percutaneous islet cell trans", "HCPCS Level II")
    assert g["effectiveDate"] == "2004-10-01"


def test_bundled_services(app):
    # Seed: all imaging, imaging guidance and RS&I are included; fact sheet: 36481, 75885,
    # 75887, 76937, 77001, 77002 not billed separately (inferred, no NCCI edit found).
    rows = run(app, "bundled_services", code="0584T")
    alone = column(rows, "reportedAloneByNotation")
    assert {"77001", "77002", "75885", "75887", "76937", "36481"} <= alone
    for notation in ("77001", "75885", "36481"):
        assert column(where(rows, reportedAloneByNotation=notation), "confidence") == {CONFIDENCE + "inferred"}
    labels = " | ".join(sorted(column(rows, "componentLabel"))).lower()
    assert "radiological supervision and interpretation" in labels
    assert SEED in column(rows, "source")
    # Fact sheet: 48160 already includes autologous islet transplantation (058xT).
    assert {"0584T", "0585T", "0586T"} <= column(run(app, "bundled_services", code="48160"), "reportedAloneByNotation")


def test_modifiers(app):
    # Seed table: modifier 22, increased procedural services, when the work is substantially more than usual.
    rows = run(app, "modifiers", code="0584T")
    m22 = where(rows, modifierNotation="22")
    assert m22 and "substantially more work" in m22[0]["whenToUse"]
    assert SEED in column(m22, "source")
    # Fact sheet: Q0 investigational service in a clinical research study; GA/GZ/KX for Medicare.
    assert {"22", "52", "53", "59", "62", "76", "77", "78", "79", "80", "82", "AS", "GA", "GZ", "KX", "Q0", "Q1"} \
        <= column(rows, "modifierNotation")
    assert all(r["whenToUse"] for r in rows), "a modifier usage without guidance"
    # The clinical-trial claim rule (Q0 on the investigational service) holds for 0586T too.
    open_code = run(app, "modifiers", code="0586T")
    assert {"Q0", "Q1"} <= column(open_code, "modifierNotation")
    assert column(where(open_code, modifierNotation="Q0"), "payerName") == {"Medicare"}


def test_indications(app):
    # Seed: type 1 diabetes with recurrent severe hypoglycaemia; fact sheet: E10.649 official title.
    rows = run(app, "indications", code="0584T")
    e10649 = where(rows, diagnosisNotation="E10.649")
    assert e10649 and e10649[0]["diagnosisLabel"] == "Type 1 diabetes mellitus with hypoglycemia without coma"
    assert e10649[0]["roleLabel"] == "primary indication"
    assert {"E10.641", "E10.649", "K86.0", "K86.1", "Z00.6", "E89.1", "Z94.83"} <= column(rows, "diagnosisNotation")
    assert where(rows, diagnosisNotation="Z00.6")[0]["roleLabel"] == "clinical-trial claim element"
    # Fact sheet: 48160 autologous islets after pancreatectomy for chronic pancreatitis.
    assert {"K86.0", "K86.1"} <= column(run(app, "indications", code="48160"), "diagnosisNotation")


def test_payer_coverage(app):
    rows = run(app, "payer_coverage", code="0584T")
    # Fact sheet: Cigna 0107, allogeneic islet transplant experimental/investigational/unproven.
    cigna = where(rows, payerSlug="cigna", clinicalContextLabel="allogeneic")
    assert cigna and cigna[0]["statusLabel"] == "investigational"
    assert "0107" in cigna[0]["policyIdentifier"]
    assert column(where(rows, payerSlug="cigna", clinicalContextLabel="autologous"), "statusLabel") == {"covered with criteria"}
    # Fact sheet: NCD 260.3.1 covers islet transplantation only in a clinical trial, effective 10/01/2004.
    medicare = where(rows, payerSlug="medicare", policyIdentifier="NCD 260.3.1")
    assert {"clinical trial only", "not covered"} <= column(medicare, "statusLabel")
    assert column(medicare, "effectiveDate") == {"2004-10-01"}
    assert ID + "source/cms-ncd-286" in column(medicare, "source")
    # Fact sheet: no UnitedHealthcare islet-cell policy was found, recorded as such.
    assert column(where(rows, payerSlug="uhc"), "statusLabel") == {"no policy found"}
    # Seed: Aetna, BCBS, Cigna, UnitedHealthcare and Medicare are the key payers.
    assert {"aetna", "cigna", "uhc", "medicare", "anthem"} <= column(rows, "payerSlug")
    # The same NCD applies to the G-code of the Medicare trials.
    g = run(app, "payer_coverage", code="G0341")
    assert "clinical trial only" in column(where(g, payerSlug="medicare"), "statusLabel")


def test_sites_of_service(app):
    # Seed: hospital operating room or interventional radiology suite, hybrid operating room,
    # inpatient surgical unit; fact sheet: POS 24 gets no Medicare ASC payment (inferred).
    rows = run(app, "sites_of_service", code="0584T")
    typical = where(rows, roleLabel="typical")
    assert {"interventional radiology suite", "hybrid operating room", "hospital operating room"} \
        <= column(typical, "settingLabel")
    assert {"21", "22"} <= column(typical, "placeOfServiceNotation")
    excluded = where(rows, placeOfServiceNotation="24")
    assert column(excluded, "roleLabel") == {"excluded from payment"}
    assert column(excluded, "payerName") == {"Medicare"}
    assert where(run(app, "sites_of_service", code="0586T"), placeOfServiceNotation="24")


def test_related_codes(app):
    # Fact sheet approach map: 0584T percutaneous, 0585T laparoscopic, 0586T open; G0341 Medicare.
    rows = run(app, "related_codes", code="0584T")
    other = where(rows, relationTypeLabel="other approach")
    assert {(r["relatedNotation"], r["relatedApproachLabel"]) for r in other} == {("0585T", "laparoscopic"), ("0586T", "open")}
    assert column(where(rows, relatedNotation="G0341"), "relationTypeLabel") == {"Medicare counterpart"}
    assert {"0141T", "0142T", "48160"} <= column(rows, "relatedNotation")
    back = run(app, "related_codes", code="0586T")
    assert ("0584T", "percutaneous") in {(r["relatedNotation"], r["relatedApproachLabel"]) for r in back}
    assert column(where(back, relationTypeLabel="Medicare counterpart"), "relatedNotation") == {"G0343"}


def test_codes_bundling(app):
    # Reverse of bundled_services: 77001 is included in 0584T; 36481 in 0584T and G0341
    # (fact sheet: the G0341 descriptor includes portal vein catheterization).
    assert column(run(app, "codes_bundling", code="77001"), "includingNotation") == {"0584T"}
    assert {"0584T", "G0341"} <= column(run(app, "codes_bundling", code="36481"), "includingNotation")
    assert column(run(app, "codes_bundling", code="0584T"), "includingNotation") == {"48160"}


def test_codes_for_indication(app):
    rows = run(app, "codes_for_indication", icd="E10.649")
    assert {"0584T", "0585T", "0586T", "G0341"} <= column(rows, "notation")
    assert column(rows, "diagnosisNotation") == {"E10.649"}
    # Fact sheet: 48160 is for chronic pancreatitis, not type 1 diabetes.
    assert "48160" not in column(rows, "notation")
    assert {"0584T", "48160"} <= column(run(app, "codes_for_indication", icd="K86.1"), "notation")


def test_coverage_matrix(app):
    rows = run(app, "coverage_matrix")
    codes, payers = column(rows, "notation"), column(rows, "payerSlug")
    assert {"0584T", "0585T", "0586T", "G0341", "48160"} <= codes
    assert {"medicare", "aetna", "cigna", "uhc", "anthem", "premera"} <= payers
    cell = where(rows, notation="0586T", payerSlug="cigna", clinicalContextLabel="allogeneic")
    assert column(cell, "statusLabel") == {"investigational"}
    one = run(app, "coverage_matrix", code="0584T")
    assert column(one, "notation") == {"0584T"} and len(one) < len(rows)


def test_coverage_conflicts(app):
    # The NCD version: sources disagree (recorded as a data gap on the Medicare policy).
    rows = run(app, "coverage_conflicts")
    medicare = where(rows, payerName="Medicare")
    assert medicare and medicare[0]["policy"] == ID + "policy/medicare/ncd-260-3-1"
    assert medicare[0]["kind"] == "sources conflict on a policy"
    assert medicare[0]["note"]


def test_stale_policies(app):
    # Fact sheet dates: Anthem TRANS.00010 last review 08/10/2023; Cigna 0107 (2021 version)
    # next review 06/15/2022; MP-300 last review Sept 2024 (known to the month only).
    early = run(app, "stale_policies", as_of="2025-01-01", max_age_days="365")
    by_id = {r["policyIdentifier"]: r["reason"] for r in early}
    assert by_id["TRANS.00010"] == "last review older than the limit"
    assert by_id["Medical Coverage Policy 0107"] == "next review date passed"
    assert "MP-300" not in by_id  # reviewed 2024-09, within the year
    late = {r["policyIdentifier"]: r for r in run(app, "stale_policies", as_of="2026-01-01")}
    assert late["MP-300"]["lastReviewed"] == "2024-09"  # a month-only date still counts
    assert late["MP-300"]["reason"] == "last review older than the limit"
    # A long enough limit makes every reviewed policy current.
    lenient = run(app, "stale_policies", as_of="2025-01-01", max_age_days="99999")
    assert "TRANS.00010" not in column(lenient, "policyIdentifier")
    # BCBS Minnesota IV-09-008 was replaced May 30, 2022: not in force later.
    assert "IV-09-008" not in by_id


def test_sources(app):
    rows = run(app, "sources", code="0584T")
    assert SEED in column(rows, "source")
    assert FACTSHEET in column(rows, "source")
    seed = where(rows, source=SEED)[0]
    assert "0584T" in seed["sourceTitle"]
    kinds = {r["property"] for r in where(rows, source=SEED)}
    assert {"http://purl.org/dc/terms/source", "https://w3id.org/coderef/ontology#bundledService"} <= kinds
    # Another code of the family rests on its own page (fact sheet: openpayer 0586T).
    assert ID + "source/openpayer-0586t" in column(run(app, "sources", code="0586T"), "source")
    everything = run(app, "sources")
    assert {"0584T", "0586T", "G0341"} <= column(everything, "notation")


# The questions beyond the minimum catalogue answer correctly too.

def test_benchmarks(app):
    # Fact sheet: 0584T and 0586T are ASC-excluded (CMS April 2026 addenda); OPPS status
    # indicator and APC not found; no work RVU for 0586T (payer-priced). No amount is guessed.
    rows = run(app, "benchmarks", code="0584T")
    asc = where(rows, paymentSystem="Medicare ASC")
    assert column(asc, "pricingStatusLabel") == {"excluded from the payment system"} and column(asc, "year") == {"2026"}
    assert column(where(rows, paymentSystem="Medicare OPPS"), "pricingStatusLabel") == {"not available"}
    assert not column(rows, "amount")
    open_code = run(app, "benchmarks", code="0586T")
    assert column(where(open_code, paymentSystem="Medicare Physician Fee Schedule"), "pricingStatusLabel") == {"payer-priced"}


def test_billing_guidance(app):
    # Fact sheet: trial claims carry Q0/Q1 and Z00.6; BCBS RI's Medicare Advantage product
    # uses G0341-G0343 instead of 0584T-0586T.
    rows = run(app, "billing_guidance", code="0584T")
    trial = where(rows, guidanceTypeLabel="clinical-trial claim requirement", payerName="Medicare")
    assert {"Q0", "Q1"} <= column(trial, "requiresModifierNotation")
    assert column(trial, "requiresDiagnosisNotation") == {"Z00.6"}
    instead = where(rows, guidanceTypeLabel="use another code")
    assert column(instead, "useInsteadNotation") == {"G0341", "G0342", "G0343"}
    assert column(instead, "payerName") == {"Blue Cross & Blue Shield of Rhode Island"}
    assert "Q0" in column(run(app, "billing_guidance", code="G0341"), "requiresModifierNotation")


def test_clinical_scenario(app):
    # Seed: conscious sedation or general anaesthesia, ultrasound and fluoroscopy guidance,
    # portal pressures monitored, watch for bleeding and portal vein thrombosis.
    rows = run(app, "clinical_scenario", code="0584T")
    items = lambda element: column(where(rows, element=element), "itemLabel")  # noqa: E731
    assert items("anesthesia") == {"conscious sedation", "general anesthesia"}
    assert {"ultrasound", "fluoroscopy"} <= items("imaging")
    assert {"bleeding", "portal vein thrombosis"} <= items("complication")
    assert "portal pressure" in items("monitoring")
    steps = sorted((int(r["order"]), r["itemLabel"]) for r in where(rows, element="step"))
    assert steps[0] == (1, "Pre-procedure assessment") and steps[-1][1] == "Post-procedure monitoring"
    assert "patient aged 45 with type 1 diabetes" in rows[0]["patientProfile"]
    assert run(app, "clinical_scenario", code="0586T") == []  # the seed describes 0584T only


def test_data_gaps(app):
    # Fact sheet, not found: the sunset and release dates of 0584T; the deletion of G0341.
    rows = run(app, "data_gaps", code="0584T")
    missing = {r["missingProperty"].rsplit("#", 1)[-1] for r in where(rows, about=ID + "cpt/0584T") if r["missingProperty"]}
    assert {"sunsetDate", "releaseDate"} <= missing
    # Seed: "areas where data are limited or variable" is itself a fact.
    assert "limited or variable data" in column(rows, "gapKindLabel")
    g = run(app, "data_gaps", code="G0341")
    assert CR + "deletedDate" in column(where(g, about=ID + "hcpcs/G0341"), "missingProperty")


def test_payer_policies(app):
    # Fact sheet: Cigna 0107, a version effective 06/15/2021 with next review 06/15/2022,
    # modified effective Sept 26, 2025.
    rows = run(app, "payer_policies", payer="cigna")
    dates = {(r["effectiveDate"], r["nextReview"]) for r in rows}
    assert {("2021-06-15", "2022-06-15"), ("2025-09-26", None)} <= dates
    premera = run(app, "payer_policies", payer="premera")
    assert column(premera, "parentSlug") == {"bcbsa"} and column(premera, "policyIdentifier") == {"7.03.12"}
    # The association issues no policy of its own: its row still shows where it is described.
    assert column(run(app, "payer_policies", payer="bcbsa"), "source")


# ------------------------------------------------------------------ parameters

def error_of(client, path, status):
    from support.errors import assert_error  # the one helper that knows the error shape

    return assert_error(client.get(path), status)


@pytest.mark.parametrize("qid, param, value", [
    ("bundled_services", "code", "9999T"), ("code_summary", "code", "Z9999"),
    ("codes_for_indication", "icd", "E99.99"), ("payer_policies", "payer", "no-such-payer"),
])
def test_unknown_value_is_404_with_a_message(client, qid, param, value):
    message = error_of(client, f"/api/questions/{qid}?{param}={value}", 404)
    assert value.upper() in message.upper() and repr(param) in message


INJECTIONS = [
    '0584T" } ; DROP ALL #', "0584T> } INSERT DATA { <a> <b> <c> } #", "0584T' UNION { ?s ?p ?o }",
    "<script>alert(1)</script>", "0584T\n}", "%00", "0584T.", "", " ", "0584T 0585T", "x" * 300,
]


@pytest.mark.parametrize("value", INJECTIONS, ids=lambda v: repr(v[:20]))
def test_malformed_code_is_400_naming_the_parameter(client, value):
    message = error_of(client, "/api/questions/bundled_services?" + urlencode({"code": value}), 400)
    assert "'code'" in message


@pytest.mark.parametrize("path, name", [
    ("/api/questions/stale_policies?as_of=2025-13-01", "as_of"),
    ("/api/questions/stale_policies?as_of=2025-01-01%22%20%7D", "as_of"),
    ("/api/questions/stale_policies?max_age_days=-1", "max_age_days"),
    ("/api/questions/stale_policies?max_age_days=1%20%7D%20UNION", "max_age_days"),
    ("/api/questions/payer_policies?payer=aetna%22%20%7D%20%3B%20DROP%20ALL%20%23", "payer"),
    ("/api/questions/codes_for_indication?icd=0584T", "icd"),
    ("/api/questions/codes_for_indication", "icd"),
    ("/api/questions/bundled_services?code=0584T&rows=3", "rows"),  # not a parameter of the question
    ("/api/questions/bundled_services?code=0584T&limit=0", "limit"),  # paging: from 1 to the result cap
    ("/api/questions/bundled_services?code=cpt9/0584T", "code"),
])
def test_other_bad_parameters_are_400(client, path, name):
    assert repr(name) in error_of(client, path, 400)


def test_unknown_question_is_404(client):
    assert "nope" in error_of(client, "/api/questions/nope?code=0584T", 404)


def test_scheme_prefix_picks_the_code_system(app):
    # 22 is both a modifier and a place of service: the scheme prefix chooses.
    catalogue = app.extensions["coderef.questions"]
    store = app.extensions["coderef.graph"].store
    with pytest.raises(BadRequest, match="more than one code"):
        catalogue.run(store, "code_summary", {"code": "22"})
    assert column(run(app, "code_summary", code="modifier/22"), "code") == {ID + "modifier/22"}
    assert column(run(app, "code_summary", code="pos/22"), "code") == {ID + "pos/22"}
    with pytest.raises(NotFound):
        catalogue.run(store, "code_summary", {"code": "hcpcs/G9999"})


def test_lower_case_and_spaces_are_forgiven(app):
    assert column(run(app, "code_summary", code=" 0584t "), "notation") == {"0584T"}


def test_a_hostile_value_changes_nothing(app, client):
    before = len(run(app, "bundled_services", code="0584T"))
    error_of(client, "/api/questions/bundled_services?code=" + quote('0584T" } ; DROP ALL #'), 400)
    assert len(run(app, "bundled_services", code="0584T")) == before


# ------------------------------------------------------------------ conflicts on a small graph

# A synthetic graph, not reference data: Cigna's positions on 0584T written three ways so
# that some overlap in time with different statuses. The dates are those of Cigna 0107 in
# the fact sheet (version of 06/15/2021, next review 06/15/2022, update of Sept 26, 2025);
# some are written to the month only, as policies often are.
CONFLICT_GRAPH = """
@prefix cr:  <https://w3id.org/coderef/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix cov: <https://w3id.org/coderef/id/vocab/coverage-status/> .
@prefix ctx: <https://w3id.org/coderef/id/vocab/clinical-context/> .
@prefix t:   <https://w3id.org/coderef/id/statement/test-> .
@prefix id:  <https://w3id.org/coderef/id/> .

<https://w3id.org/coderef/id/cpt/0584T> skos:notation "0584T" .
t:old a cr:CoveragePosition ; cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ;
    cr:payer <https://w3id.org/coderef/id/payer/cigna> ; cr:coverageStatus cov:investigational ;
    cr:clinicalContext ctx:allogeneic ; dct:source id:source\\/factsheet ;
    cr:effectiveDate "2021-06"^^xsd:gYearMonth ; cr:endDate "2025-09"^^xsd:gYearMonth .
t:new a cr:CoveragePosition ; cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ;
    cr:payer <https://w3id.org/coderef/id/payer/cigna> ; cr:coverageStatus cov:covered-with-criteria ;
    cr:clinicalContext ctx:allogeneic ; dct:source id:source\\/factsheet ;
    cr:effectiveDate "2025-09-26"^^xsd:date .
t:ended a cr:CoveragePosition ; cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ;
    cr:payer <https://w3id.org/coderef/id/payer/cigna> ; cr:coverageStatus cov:not-covered ;
    cr:clinicalContext ctx:autologous ; dct:source id:source\\/factsheet ;
    cr:effectiveDate "2021-06-15"^^xsd:date ; cr:endDate "2022-06"^^xsd:gYearMonth .
t:later a cr:CoveragePosition ; cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ;
    cr:payer <https://w3id.org/coderef/id/payer/cigna> ; cr:coverageStatus cov:covered-with-criteria ;
    cr:clinicalContext ctx:autologous ; dct:source id:source\\/factsheet ;
    cr:effectiveDate "2025-09-26"^^xsd:date .
t:other-context a cr:CoveragePosition ; cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ;
    cr:payer <https://w3id.org/coderef/id/payer/cigna> ; cr:coverageStatus cov:investigational ;
    cr:clinicalContext ctx:lantidra ; dct:source id:source\\/factsheet ;
    cr:effectiveDate "2025-09-26"^^xsd:date .
"""


@pytest.mark.embedded_only
def test_coverage_conflicts_compare_month_only_dates(repo_root):
    import pyoxigraph as ox

    from server.store.embedded import EmbeddedStore

    graph = ox.Store()
    graph.load(CONFLICT_GRAPH.encode(), ox.RdfFormat.TURTLE)
    catalogue = load_catalogue(repo_root / "queries")
    rows = catalogue.run(EmbeddedStore(graph), "coverage_conflicts", {}).records()
    pairs = {tuple(sorted(r[k].rsplit("-", 1)[-1] for k in ("position", "otherPosition"))) for r in rows}
    # old (June 2021 to Sept 2025) overlaps new (from 2025-09-26): Sept 2025 is in both.
    # ended stopped in June 2022, before later began; other-context is about Lantidra only.
    assert pairs == {("new", "old")}
    row = rows[0]
    assert row["kind"] == "overlapping positions with different statuses"
    assert {row["effectiveDate"], row["otherEffectiveDate"]} == {"2021-06", "2025-09-26"}
    assert row["source"] and row["otherSource"]


# BCBS Minnesota IV-09-008, replaced May 30, 2022 (fact sheet), with its end written to the
# month only: the policy is in force through May 2022 and gone in June.
MONTH_END_GRAPH = """
@prefix cr:  <https://w3id.org/coderef/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/coderef/id/policy/bcbs-mn/iv-09-008> a cr:CoveragePolicy ;
    cr:policyIdentifier "IV-09-008" ;
    cr:effectiveDate "2020-04-27"^^xsd:date ; cr:endDate "2022-05"^^xsd:gYearMonth .
"""


@pytest.mark.embedded_only
@pytest.mark.parametrize("as_of, listed", [("2022-05-15", True), ("2022-05-31", True), ("2022-06-01", False)])
def test_stale_policies_month_only_end_date(repo_root, as_of, listed):
    import pyoxigraph as ox

    from server.store.embedded import EmbeddedStore

    graph = ox.Store()
    graph.load(MONTH_END_GRAPH.encode(), ox.RdfFormat.TURTLE)
    catalogue = load_catalogue(repo_root / "queries")
    rows = catalogue.run(EmbeddedStore(graph), "stale_policies", {"as_of": as_of}).records()
    assert (column(rows, "policyIdentifier") == {"IV-09-008"}) is listed
    if listed:
        assert rows[0]["reason"] == "no review date"


# ------------------------------------------------------------------ binding by value

class Recorder:
    """A store that records what it is asked, then asks the real one (as SPARQL: its reports,
    server/reports/, are left out)."""

    reports = None

    def __init__(self, store):
        self.store, self.calls = store, []

    def select(self, query, bindings=None, cap=None):
        self.calls.append((query, dict(bindings or {})))
        return self.store.select(query, bindings=bindings, cap=cap)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_values_are_bound_never_pasted(app):
    from server.rdf.terms import IRI, Literal

    catalogue = app.extensions["coderef.questions"]
    store = Recorder(app.extensions["coderef.graph"].store)
    catalogue.run(store, "stale_policies", {"as_of": "2025-01-01", "max_age_days": "30"})
    catalogue.run(store, "bundled_services", {"code": "0584t"})
    for qid in ("stale_policies", "bundled_services"):
        text = catalogue.get(qid).query
        query, bindings = next(call for call in store.calls if call[0] == text)  # the file's text, untouched
        assert "2025-01-01" not in query and "0584T" not in query
        assert all(isinstance(v, (IRI, Literal)) for v in bindings.values())
    assert store.calls[-1][1] == {"code": IRI(ID + "cpt/0584T")}
    # A hostile value is refused before anything reaches the store.
    store.calls.clear()
    with pytest.raises(BadRequest):
        catalogue.run(store, "bundled_services", {"code": '0584T" } ; DROP ALL #'})
    assert store.calls == []


def test_result_cap_is_reported(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions["coderef.graph"].store.settings, "RESULT_CAP", 3)
    response = client.get("/api/questions/indications?code=0584T")
    body = response.get_json()
    # The cap cuts the rows of (fact, source): the facts gathered from three rows are at most three.
    assert body["truncated"] is True and 1 <= len(body["rows"]) <= 3
    assert sum(len(r["sources"]) for r in body["rows"]) <= 3
    assert response.headers["X-Coderef-Truncated"] == "true"
