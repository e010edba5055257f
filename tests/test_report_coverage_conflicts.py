"""The coverage_conflicts report gives its question's rows, in its order, on every day.

Besides the shipped and generated graphs (reports_diff), a third graph adds to the shipped
reference a small synthetic Turtle file (CASES) with what those two lack: positions and
policies marked conflicting, a conflicting-sources gap, dates known only to the month or
year, unknown dates, a payer without a name, sources with and without titles, and positions
whose policies have several successors (one output row kept under several date keys).
"""

import pytest
from reports_diff import bind, catalogue, check_pages, difference, graphs, param_sets, report_db, whole

from server import config as cfg
from server.rdf.parsing import load_store
from server.reports import coverage_conflicts as report

QUESTION = catalogue().get("coverage_conflicts")

CASES = """
@prefix cr:     <https://w3id.org/coderef/ontology#> .
@prefix cov:    <https://w3id.org/coderef/id/vocab/coverage-status/> .
@prefix ctx:    <https://w3id.org/coderef/id/vocab/clinical-context/> .
@prefix conf:   <https://w3id.org/coderef/id/vocab/confidence/> .
@prefix gap:    <https://w3id.org/coderef/id/vocab/gap-kind/> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
@prefix payer:  <https://w3id.org/coderef/id/payer/> .
@prefix policy: <https://w3id.org/coderef/id/policy/synthetic-cases/> .
@prefix stmt:   <https://w3id.org/coderef/id/statement/synthetic-cases/> .
@prefix src:    <https://w3id.org/coderef/id/source/synthetic-cases-> .
@prefix hcpcs:  <https://w3id.org/coderef/id/hcpcs/> .

payer:synthetic-named a cr:Payer ; schema:name "Synthetic payer" .
payer:synthetic-unnamed a cr:Payer .
hcpcs:W9001 skos:notation "W9001" .
hcpcs:W9002 skos:notation "W9002" .
src:alpha dct:title "Alpha"@en ; schema:url "https://example.org/alpha" .
src:beta dct:title "beta" .
src:untitled schema:url "https://example.org/untitled" .

# v1 is replaced by two versions: its positions are in force until the earlier one starts.
policy:v1 a cr:CoveragePolicy ; cr:issuedBy payer:synthetic-named ; cr:effectiveDate "2019"^^xsd:gYear ;
    cr:position stmt:a1 , stmt:a3 , stmt:a4 ; dct:isReplacedBy policy:v2 , policy:v3 .
policy:v2 a cr:CoveragePolicy ; cr:issuedBy payer:synthetic-named ; cr:effectiveDate "2022-01-01"^^xsd:date .
policy:v3 a cr:CoveragePolicy ; cr:issuedBy payer:synthetic-named ; cr:effectiveDate "2023-03"^^xsd:gYearMonth ;
    cr:endDate "2024"^^xsd:gYear ; cr:position stmt:a2 , stmt:c1 .

stmt:a1 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9001 ;
    cr:coverageStatus cov:covered ; cr:clinicalContext ctx:any ; cr:effectiveDate "2020-01-01"^^xsd:date ;
    dct:source src:alpha , src:beta .
stmt:a2 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9001 ;
    cr:coverageStatus cov:not-covered ; cr:effectiveDate "2020"^^xsd:gYear ; cr:endDate "2023-06"^^xsd:gYearMonth .
stmt:a3 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9001 ;
    cr:coverageStatus cov:investigational ; cr:clinicalContext ctx:autologous ;
    cr:effectiveDate "2018-05-01"^^xsd:date ; cr:endDate "2019-12-31"^^xsd:date .
stmt:a4 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9001 ;
    cr:coverageStatus cov:position-not-retrieved .
stmt:a5 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9001 ;
    cr:coverageStatus cov:clinical-trial-only ; cr:clinicalContext ctx:allogeneic ;
    cr:effectiveDate "2021-07-01"^^xsd:date .

# No dates at all: they count as overlapping.
stmt:b1 a cr:CoveragePosition ; cr:payer payer:synthetic-unnamed ; cr:appliesTo hcpcs:W9002 ;
    cr:coverageStatus cov:covered ; dct:source src:alpha , src:untitled .
stmt:b2 a cr:CoveragePosition ; cr:payer payer:synthetic-unnamed ; cr:appliesTo hcpcs:W9002 ;
    cr:coverageStatus cov:not-covered ; dct:source src:beta .

stmt:c1 a cr:CoveragePosition ; cr:confidence conf:conflicting ; cr:appliesTo hcpcs:W9002 ;
    cr:coverageStatus cov:covered ; rdfs:comment "Synthetic: two sources disagree." ; dct:source src:beta .
stmt:c2 a cr:CoveragePosition ; cr:confidence conf:conflicting ; cr:payer payer:synthetic-named ;
    cr:appliesTo hcpcs:W9001 ; cr:effectiveDate "2021-02"^^xsd:gYearMonth ; cr:endDate "2022-12-31"^^xsd:date .

policy:p1 a cr:CoveragePolicy ; cr:confidence conf:conflicting ; cr:issuedBy payer:synthetic-unnamed ;
    cr:effectiveDate "2021-01-01"^^xsd:date ; cr:endDate "2022"^^xsd:gYear ; dct:isReplacedBy policy:p2 ;
    rdfs:comment "Synthetic: two sources give different versions." ; dct:source src:alpha .
policy:p2 a cr:CoveragePolicy ; cr:issuedBy payer:synthetic-unnamed ; cr:effectiveDate "2022-07-01"^^xsd:date .
stmt:gap-p1 a cr:DataGap ; cr:about policy:p1 ; cr:gapKind gap:conflicting-sources ;
    rdfs:comment "Synthetic: the dates of p1 disagree." ; dct:source src:untitled .
"""

# days per graph: every day the harness finds on the small ones, one in six on the generated one
DAYS = {"shipped": 400, "generated": 85, "cases": 400}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("coverage_conflicts")
    cases = root / "cases.ttl"
    cases.write_text(CASES, encoding="utf-8")
    files = [f for f in cfg.data_files(cfg.resolve({})) if "modules" not in f.parts]
    return {**graphs(str(root)), "cases": load_store(files + [cases])}


@pytest.fixture(scope="module")
def dbs(stores):
    return {name: report_db(store, report) for name, store in stores.items()}


def bound(store, raw):
    return bind(store, QUESTION, raw)


def full(db, bindings):
    return whole(report, db, bindings)


@pytest.mark.parametrize("graph", ["shipped", "generated", "cases"])
def test_same_rows_as_the_question(stores, dbs, graph):
    store, db = stores[graph], dbs[graph]
    sets = param_sets(store, QUESTION, days=DAYS[graph])
    assert len(sets) > 20
    differences = [d for raw in sets if (d := difference(store, db, QUESTION, report, raw))]
    assert not differences, "\n".join(differences[:3])
    sizes = [len(full(db, bound(store, raw))) for raw in sets]
    assert sum(n > 0 for n in sizes) > len(sets) // 2, "most days should find some conflict"
    assert len(set(sizes)) > 1, "the day should change the answer"


def kinds(rows):
    return {row["kind"]["value"] for row in rows}


def test_the_graphs_exercise_every_kind(stores, dbs):
    generated = full(dbs["generated"], {})
    # each injected conflicting position conflicts with the position it was made beside
    assert sum(row["otherPosition"]["value"].endswith("-conflicting") for row in generated
               if "otherPosition" in row) >= 3
    cases = full(dbs["cases"], {})
    assert kinds(cases) == {"overlapping positions with different statuses", "sources conflict on a position",
                            "sources conflict on a policy"}
    pairs = {(row["position"]["value"][-2:], row["otherPosition"]["value"][-2:])
             for row in cases if "otherPosition" in row}
    # a3 ended before the others started, a4 was not retrieved, c1 has no payer, c2 no status
    assert pairs == {("a1", "a2"), ("a1", "a5"), ("a2", "a5"), ("b1", "b2")}


def test_a_row_is_kept_while_any_of_its_keys_is_in_force(stores, dbs):
    db = dbs["cases"]
    several = db.execute("SELECT id FROM coverage_conflicts_keys GROUP BY id HAVING COUNT(*) > 1").fetchall()
    assert several, "the cases should give one row under several key sets"

    def a1_a2(on):
        """The rows pairing a1 with a2 on a day: one per source of a1 (Alpha, beta)."""
        return [row for row in full(db, bound(stores["cases"], {"as_of": on}))
                if "otherPosition" in row and row["position"]["value"].endswith("/a1")
                and row["otherPosition"]["value"].endswith("/a2")]

    # a1's policy v1 is replaced by v2 (2022-01-01) and v3 (2023-03): the question keeps a1
    # until both have started; while both key sets are in force, each row comes once
    assert len(a1_a2("2021-12-31")) == 2
    assert len(a1_a2("2023-02-28")) == 2
    assert a1_a2("2023-03-01") == []


@pytest.mark.parametrize("graph", ["shipped", "generated", "cases"])
def test_pages_are_prefixes(stores, dbs, graph):
    store, db = stores[graph], dbs[graph]
    checked = sum(check_pages(report, db, bound(store, raw), (1, 2, 3, 5, 10))
                  for raw in param_sets(store, QUESTION, days=8))
    assert checked or graph == "shipped", "some answer should be cut by a small cap"
