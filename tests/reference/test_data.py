"""The shipped reference data: valid codes, sources everywhere, files that load."""

import pytest
import simple_icd_10_cm as icd

from server import config as cfg
from server.errors import DataError
from server.rdf.parsing import load_store, parse_file
from server.namespaces import sparql_prefixes

P = sparql_prefixes()

STATEMENT_CLASSES = [
    "cr:ProcedureCode", "cr:BundledService", "cr:ModifierUsage", "cr:Indication", "cr:SiteOfService",
    "cr:CodeRelation", "cr:CoveragePolicy", "cr:CoveragePosition", "cr:BillingGuidance",
    "cr:ReimbursementBenchmark", "cr:ClinicalScenario", "cr:DataGap", "cr:Modifier",
    "cr:PlaceOfService", "cr:DiagnosisCode", "cr:Payer", "cr:Product",
]


def values(store, query, var):
    return [row[var]["value"] for row in store.select(P + query).rows]


def test_every_indication_is_a_billable_code_of_the_official_set(store):
    notations = values(store, """
        SELECT DISTINCT ?n WHERE { ?i a cr:Indication ; cr:diagnosis/skos:notation ?n }""", "n")
    assert len(notations) >= 12
    for code in notations:
        assert icd.is_valid_item(code), f"{code} is not in the ICD-10-CM code set"
        assert icd.is_leaf(code), f"{code} is a category, not a billable code"


def test_icd10cm_titles_come_from_the_code_set(store):
    rows = store.select(P + """
        SELECT ?n ?label ?billable WHERE {
          ?c a cr:DiagnosisCode ; skos:notation ?n ; skos:prefLabel ?label ; cr:billable ?billable }""").rows
    assert rows
    for row in rows:
        code = row["n"]["value"]
        assert row["label"]["value"] == icd.get_description(code), code
        assert (row["billable"]["value"] == "true") == icd.is_leaf(code), code


@pytest.mark.parametrize("klass", STATEMENT_CLASSES)
def test_every_statement_group_has_a_source(store, klass):
    missing = values(store, f"""
        SELECT ?s WHERE {{ ?s a {klass} . FILTER NOT EXISTS {{ ?s dct:source ?src . ?src dct:title ?t }} }}""", "s")
    assert missing == [], f"{klass} without a titled source: {missing}"


def test_every_source_is_described(store):
    undescribed = values(store, """
        SELECT DISTINCT ?src WHERE { ?s dct:source ?src .
          FILTER NOT EXISTS { ?src a cr:Source ; dct:title ?t ; cr:sourceKind ?k } }""", "src")
    assert undescribed == []


def test_secondary_sources_are_marked(store):
    """The fact sheet's third-party summaries are sources of kind 'secondary'."""
    kinds = dict(
        (row["slug"]["value"], row["kind"]["value"].rsplit("/", 1)[-1])
        for row in store.select(P + """
            SELECT ?slug ?kind WHERE { ?src a cr:Source ; cr:sourceKind ?kind .
              BIND(STRAFTER(STR(?src), "/id/source/") AS ?slug) }""").rows
    )
    for slug in ("openpayer-0584t", "verity-cigna-0107", "payerpolicy-cigna-0107", "datalilyai-0584t"):
        assert kinds[slug] == "secondary", slug
    assert kinds["cms-ncd-286"] == "primary"


def test_unknowns_are_recorded_not_guessed(store):
    """The fact sheet's 'not found' items are data gaps, and no value was invented for them."""
    gaps = values(store, "SELECT ?p WHERE { ?g a cr:DataGap ; cr:missingProperty ?p }", "p")
    for prop in ("sunsetDate", "releaseDate", "deletedDate", "pricingStatus", "policyIdentifier", "coverageStatus"):
        assert any(g.endswith("#" + prop) for g in gaps), prop
    assert not store.ask(P + "ASK { ?c cr:sunsetDate ?d }"), "a sunset date was recorded although none was found"
    assert store.ask(P + """ASK { ?p cr:payer <https://w3id.org/coderef/id/payer/uhc> ;
        cr:coverageStatus <https://w3id.org/coderef/id/vocab/coverage-status/no-published-policy> }""")


# The fact sheet's "NOT FOUND / OPEN ITEMS", each recorded as a cr:DataGap (never a guess).
NOT_FOUND = [
    ("sunset-date", "AMA sunset date printed for 0584T-0586T",
     "?g cr:about cpt:0584T , cpt:0585T , cpt:0586T ; cr:missingProperty cr:sunsetDate ; cr:gapKind gap:not-found ."),
    ("release-date", "AMA release date of 0584T-0586T",
     "?g cr:about cpt:0584T , cpt:0585T , cpt:0586T ; cr:missingProperty cr:releaseDate ; cr:gapKind gap:not-found ."),
    ("replaced-0141T", "whether 0584T-0586T formally replaced 0141T-0143T",
     "?g cr:about cpt:0141T , cpt:0142T , cpt:0143T ; cr:missingProperty cr:replacedBy , cr:deletedDate ."),
    ("gcodes-deleted", "whether/when G0341-G0343 were deleted",
     "?g cr:about hcpcs:G0341 , hcpcs:G0342 , hcpcs:G0343 ; cr:missingProperty cr:deletedDate ; cr:gapKind gap:not-found ."),
    ("opps-asc", "OPPS status indicator and APC of 0584T-0586T; ASC status of 0585T",
     "?g cr:about cpt:0585T ; cr:missingProperty cr:pricingStatus ; rdfs:comment ?c . FILTER(CONTAINS(?c, 'APC') && CONTAINS(?c, 'ASC status of 0585T'))"),
    ("ncci-edits", "NCCI PTP edits between 0584T and 36481/75885/75887/76937/77001/77002/48160",
     "?g cr:about cpt:0584T ; cr:gapKind gap:not-found ; rdfs:comment ?c . FILTER(CONTAINS(?c, 'NCCI') && CONTAINS(?c, '48160') && CONTAINS(?c, '77002'))"),
    ("77002-descriptor", "77002 descriptor text",
     "?g cr:about cpt:77002 ; cr:missingProperty skos:prefLabel ; cr:gapKind gap:unverified ."),
    ("aetna-criteria", "Aetna CPB 0601's autologous vs allogeneic criteria",
     "?g cr:about <https://w3id.org/coderef/id/policy/aetna/cpb-0601> ; cr:missingProperty cr:clinicalCriteria ; cr:gapKind gap:truncated-source ."),
    ("uhc-policy", "UnitedHealthcare islet-cell policy number, title and position",
     "?g cr:about payer:uhc ; cr:missingProperty cr:policyIdentifier ; cr:gapKind gap:not-found ."),
    ("bcbs-positions", "formal positions of BCBS MS, Highmark, BCBS NC, BCBS MN, Florida Blue, Wellmark, BCBS RI",
     "?g cr:about payer:bcbs-ms , payer:highmark , payer:bcbs-nc , payer:bcbs-mn , payer:florida-blue , "
     "payer:wellmark , payer:bcbs-ri ; cr:missingProperty cr:coverageStatus ."),
]
ID_PREFIXES = """
PREFIX cpt: <https://w3id.org/coderef/id/cpt/>
PREFIX hcpcs: <https://w3id.org/coderef/id/hcpcs/>
PREFIX payer: <https://w3id.org/coderef/id/payer/>
PREFIX gap: <https://w3id.org/coderef/id/vocab/gap-kind/>
"""


@pytest.mark.parametrize("item,fact,pattern", NOT_FOUND, ids=[n[0] for n in NOT_FOUND])
def test_not_found_item_is_a_data_gap(store, item, fact, pattern):
    assert store.ask(P + ID_PREFIXES + "ASK { ?g a cr:DataGap ; dct:source ?s . " + pattern + " }"), (
        f"fact sheet 'not found' item not recorded as a cr:DataGap: {fact}")


def test_not_found_items_have_no_guessed_value(store):
    guesses = values(store, ID_PREFIXES + """
        SELECT ?what WHERE {
          { VALUES ?c { cpt:0584T cpt:0585T cpt:0586T } ?c cr:releaseDate|cr:sunsetDate ?v . BIND("058xT date" AS ?what) }
          UNION { VALUES ?c { hcpcs:G0341 hcpcs:G0342 hcpcs:G0343 cpt:0141T cpt:0142T cpt:0143T }
                  ?c cr:deletedDate|cr:replacedBy ?v . BIND("deletion or successor" AS ?what) }
          UNION { ?p cr:issuedBy payer:uhc ; cr:position/cr:appliesTo cpt:0584T ; cr:policyIdentifier ?v .
                  BIND("UHC islet policy number" AS ?what) }
          UNION { <https://w3id.org/coderef/id/policy/bcbs-ri/islet-cell-transplant> cr:policyIdentifier ?v . BIND("BCBS RI policy number" AS ?what) }
          UNION { VALUES ?c { cpt:0584T cpt:0585T cpt:0586T } ?c cr:benchmark/cr:amount ?v . BIND("058xT amount" AS ?what) }
        }""", "what")
    assert guesses == []


def test_every_data_file_parses():
    files = cfg.data_files(cfg.resolve())
    assert len(files) >= 10
    for path in files:
        assert parse_file(path), path


def test_malformed_turtle_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix a: <http://x/> .\na:b a:c a:d .\na:e a:f "unterminated .\n')
    with pytest.raises(DataError) as err:
        load_store([bad])
    assert err.value.line == 3
    assert "bad.ttl, line 3" in str(err.value)
