"""The family_inconsistencies report gives its question's rows, in its order, for every
payer and day.

The shipped reference (its positions name every code of a family) gives the question no
row. The generated graph does: in half of its families the codes after the first are other
approaches to one procedure, and a quarter of the policy versions name only some of a
family's codes. Two more graphs give rows of every kind:

- families: the generated graph with every code family related as other approaches (the
  codes a policy names together), so that versions of a policy with other statuses, the
  injected conflicting positions (on one code of a family only), the versions that name
  only some codes and the gaps between versions (a version ends in December, the next
  starts later in the year) give rows of both kinds;
- cases: the shipped reference and a small synthetic Turtle file (CASES) with what is
  rare there: a position in force under two policies with a gap between them, a replaced
  policy, month- and year-only dates, "any" and several clinical contexts, a position with
  two statuses or two payers, statuses not retrieved, a payer without a name, sources with
  and without titles, a family relation stated twice and one stated one way only.
"""

import pytest
from reports_diff import bind, catalogue, check_pages, difference, generated, graphs, param_sets, report_db, whole

from server import config as cfg
from server.rdf.parsing import load_store
from server.reports import family_inconsistencies as report

QUESTION = catalogue().get("family_inconsistencies")

RELATE_FAMILIES = """
PREFIX cr:   <https://w3id.org/coderef/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
INSERT { ?code cr:relation ?relation .
         ?relation a cr:CodeRelation ;
                   cr:relationType <https://w3id.org/coderef/id/vocab/relation-type/other-approach> ;
                   cr:relatedCode ?other }
WHERE { ?policy cr:position ?position . ?position cr:appliesTo ?code , ?other .
        ?code skos:notation ?notation . ?other skos:notation ?otherNotation
        FILTER(REGEX(?notation, "^[W-Z][0-9]{4}$") && ?code != ?other)
        BIND(IRI(CONCAT("https://w3id.org/coderef/id/statement/synthetic/relation-", ?notation, "-", ?otherNotation))
             AS ?relation) }
"""

CASES = """
@prefix cr:     <https://w3id.org/coderef/ontology#> .
@prefix cov:    <https://w3id.org/coderef/id/vocab/coverage-status/> .
@prefix ctx:    <https://w3id.org/coderef/id/vocab/clinical-context/> .
@prefix rel:    <https://w3id.org/coderef/id/vocab/relation-type/> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
@prefix payer:  <https://w3id.org/coderef/id/payer/> .
@prefix policy: <https://w3id.org/coderef/id/policy/synthetic-family-cases/> .
@prefix stmt:   <https://w3id.org/coderef/id/statement/synthetic-family-cases/> .
@prefix src:    <https://w3id.org/coderef/id/source/synthetic-family-cases-> .
@prefix hcpcs:  <https://w3id.org/coderef/id/hcpcs/> .

payer:synthetic-named a cr:Payer ; schema:name "Synthetic payer" .
payer:synthetic-unnamed a cr:Payer .
src:alpha dct:title "Alpha"@en ; schema:url "https://example.org/alpha" .
src:beta dct:title "beta" .
src:untitled schema:url "https://example.org/untitled" .

# W9101 and W9102 are related twice over; W9102 -> W9103 one way only.
hcpcs:W9101 skos:notation "W9101" ; cr:relation stmt:r12 , stmt:r12-again , stmt:r13 .
hcpcs:W9102 skos:notation "W9102" ; cr:relation stmt:r21 , stmt:r23 .
hcpcs:W9103 skos:notation "W9103" ; cr:relation stmt:r31 .
stmt:r12 cr:relationType rel:other-approach ; cr:relatedCode hcpcs:W9102 .
stmt:r12-again cr:relationType rel:other-approach ; cr:relatedCode hcpcs:W9102 .
stmt:r13 cr:relationType rel:other-approach ; cr:relatedCode hcpcs:W9103 .
stmt:r21 cr:relationType rel:other-approach ; cr:relatedCode hcpcs:W9101 .
stmt:r23 cr:relationType rel:other-approach ; cr:relatedCode hcpcs:W9103 .
stmt:r31 cr:relationType rel:other-approach ; cr:relatedCode hcpcs:W9101 .

# e1 is in force under p1, then under p2 until p3 replaces it, not between the two.
policy:p1 a cr:CoveragePolicy ; cr:effectiveDate "2019-01-01"^^xsd:date ; cr:endDate "2020-06"^^xsd:gYearMonth ;
    cr:position stmt:e1 .
policy:p2 a cr:CoveragePolicy ; cr:effectiveDate "2021-03-01"^^xsd:date ; dct:isReplacedBy policy:p3 ;
    cr:position stmt:e1 .
policy:p3 a cr:CoveragePolicy ; cr:effectiveDate "2023-02-01"^^xsd:date .

stmt:e1 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9101 ;
    cr:coverageStatus cov:covered ; cr:clinicalContext ctx:autologous ; dct:source src:alpha , src:beta .
stmt:e2 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9102 ;
    cr:coverageStatus cov:not-covered ; cr:clinicalContext ctx:autologous ;
    cr:effectiveDate "2019-06-01"^^xsd:date ; cr:endDate "2022-12-31"^^xsd:date ; dct:source src:untitled .
stmt:e3 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9102 ;
    cr:coverageStatus cov:covered ; cr:clinicalContext ctx:any ; cr:effectiveDate "2020-01"^^xsd:gYearMonth ;
    dct:source src:alpha .
stmt:e4 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9102 ;
    cr:coverageStatus cov:position-not-retrieved ; cr:clinicalContext ctx:allogeneic .
stmt:e5 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9101 ;
    cr:coverageStatus cov:investigational ; cr:clinicalContext ctx:allogeneic ;
    cr:effectiveDate "2022-01-01"^^xsd:date .
stmt:e6 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9103 ;
    cr:coverageStatus cov:covered , cov:not-covered ; cr:effectiveDate "2024"^^xsd:gYear .
stmt:e7 a cr:CoveragePosition ; cr:payer payer:synthetic-named ; cr:appliesTo hcpcs:W9101 ;
    cr:coverageStatus cov:clinical-trial-only ; cr:effectiveDate "2021-01-01"^^xsd:date ;
    cr:endDate "2024-06"^^xsd:gYearMonth ; dct:source src:beta , src:untitled .
stmt:e8 a cr:CoveragePosition ; cr:payer payer:synthetic-named , payer:synthetic-unnamed ;
    cr:appliesTo hcpcs:W9103 ; cr:coverageStatus cov:covered ; cr:clinicalContext ctx:autologous , ctx:allogeneic ;
    dct:source src:beta .
stmt:e9 a cr:CoveragePosition ; cr:payer payer:synthetic-unnamed ; cr:appliesTo hcpcs:W9101 ;
    cr:coverageStatus cov:not-covered .
stmt:e10 a cr:CoveragePosition ; cr:payer payer:synthetic-unnamed ; cr:appliesTo hcpcs:W9103 ;
    cr:coverageStatus cov:position-not-retrieved .
"""

NO_POSITION = "no position on a code of the same family"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("family_inconsistencies")
    cases = root / "cases.ttl"
    cases.write_text(CASES, encoding="utf-8")
    files = [f for f in cfg.data_files(cfg.resolve({})) if "modules" not in f.parts]
    families = load_store(files + [generated(str(root))])
    families.update(RELATE_FAMILIES)
    return {**graphs(str(root)), "families": families, "cases": load_store(files + [cases]),
            "cases alone": load_store([cases])}


@pytest.fixture(scope="module")
def dbs(stores):
    return {name: report_db(stores[name], report) for name in ("shipped", "generated", "families", "cases")}


def bound(store, raw):
    return bind(store, QUESTION, raw)


def full(db, bindings):
    return whole(report, db, bindings)


def busiest_payers(db, n=3):
    """Slugs of the payers with the most rows."""
    return [payer.rsplit("/", 1)[-1] for (payer,) in db.execute(
        "SELECT payer_iri FROM family_inconsistencies GROUP BY payer_iri ORDER BY COUNT(*) DESC, payer_iri LIMIT ?",
        (n,))]


def sets_for(stores, dbs, graph):
    """Parameter sets: every payer and none on a few days, and more days for no payer and
    for the busiest payers (a question run without a payer takes half a second on families)."""
    store = stores[graph]
    if graph == "cases":  # every day the cases state and the days beside them; their payers
        return param_sets(stores["cases alone"], QUESTION, days=1000)
    days = {"shipped": 20, "generated": 4, "families": 3}[graph]
    sets = param_sets(store, QUESTION, days=days)
    if graph == "families":
        busiest = busiest_payers(dbs[graph])
        sets += [raw for raw in param_sets(store, QUESTION, days=12)
                 if raw.get("payer") in busiest + [None] and raw not in sets]
    return sets


@pytest.mark.parametrize("graph", ["shipped", "generated", "families", "cases"])
def test_same_rows_as_the_question(stores, dbs, graph):
    store, db = stores[graph], dbs[graph]
    sets = sets_for(stores, dbs, graph)
    assert len(sets) > 40
    differences = [d for raw in sets if (d := difference(store, db, QUESTION, report, raw))]
    assert not differences, "\n".join(differences[:3])
    answered = [raw for raw in sets if full(db, bound(store, raw))]
    if graph == "shipped":
        assert not answered, "a family's codes share their positions there"
    else:  # generated: policy versions that name only some of a family's codes
        assert len(answered) > 20, len(answered)


def kinds(rows):
    return {row["kind"]["value"] for row in rows}


def test_families_give_both_kinds(stores, dbs):
    store, db = stores["families"], dbs["families"]
    rows = full(db, {})
    # without a day every version counts: a family's codes differ where a version names
    # only some of them, and where the statuses of versions differ
    assert kinds(rows) == {NO_POSITION, "different status on a code of the same family"}
    # each injected conflicting position (on one code of its family) differs from its siblings
    assert len({row["position"]["value"] for row in rows if row["position"]["value"].endswith("-conflicting")}) >= 3
    # between two versions of a policy the family is silent, while a conflicting position holds
    dated = [row for raw in param_sets(store, QUESTION, days=12) if "as_of" in raw and "payer" not in raw
             for row in full(db, bound(store, raw))]
    assert kinds(dated) == {NO_POSITION, "different status on a code of the same family"}
    assert any(row["position"]["value"].endswith("-conflicting") for row in dated if row["kind"]["value"] == NO_POSITION)


def pairs(stores, dbs, raw):
    """(kind, position, status, context, family code, other position) of the cases' rows."""
    def short(row, name):
        return row[name]["value"].rsplit("/", 1)[-1] if name in row else None

    return {(row["kind"]["value"][:2], short(row, "position"), short(row, "status"), short(row, "clinicalContext"),
             short(row, "familyNotation"), short(row, "otherPosition"))
            for row in full(dbs["cases"], bound(stores["cases"], raw))}


def test_cases(stores, dbs):
    # without a day every position counts: e9's payer states nothing on W9102, the rest differ
    assert pairs(stores, dbs, {}) == {
        ("di", "e1", "covered", "autologous", "W9102", "e2"), ("di", "e2", "not-covered", "autologous", "W9101", "e1"),
        ("di", "e2", "not-covered", "autologous", "W9103", "e8"),
        ("di", "e5", "investigational", "allogeneic", "W9103", "e8"),
        ("di", "e6", "covered", None, "W9101", "e7"), ("di", "e6", "not-covered", None, "W9101", "e7"),
        ("di", "e7", "clinical-trial-only", None, "W9103", "e6"), ("di", "e8", "covered", "allogeneic", "W9101", "e5"),
        ("no", "e9", "not-covered", None, "W9102", None)}
    # e1 is in force under p1 (2019) and p2 (2022), not between them nor once p2 is replaced
    assert ("di", "e1", "covered", "autologous", "W9102", "e2") in pairs(stores, dbs, {"as_of": "2019-07-01"})
    assert ("di", "e1", "covered", "autologous", "W9102", "e2") in pairs(stores, dbs, {"as_of": "2022-06-01"})
    gap = pairs(stores, dbs, {"as_of": "2020-12-01"})
    assert not any(p[1] == "e1" for p in gap)
    assert not any(p[1] == "e1" for p in pairs(stores, dbs, {"as_of": "2023-06-01"}))
    # ... and meanwhile e2 and e3 ("any" context) have no sibling in force on W9101
    assert {("no", "e2", "not-covered", "autologous", "W9101", None), ("no", "e3", "covered", "any", "W9101", None)} <= gap
    # once e7 has ended (a month-only end: the whole of June 2024), e8 in autologous is alone
    assert ("no", "e8", "covered", "autologous", "W9101", None) not in pairs(stores, dbs, {"as_of": "2024-06-30"})
    assert ("no", "e8", "covered", "autologous", "W9101", None) in pairs(stores, dbs, {"as_of": "2024-07-01"})
    # the unnamed payer: only its silence on W9102 (e8 and e9 meet in no context)
    assert pairs(stores, dbs, {"payer": "synthetic-unnamed", "as_of": "2024-07-01"}) == {
        ("no", "e9", "not-covered", None, "W9102", None)}
    # one row per pair of sources: e1's two against e2's one
    rows = full(dbs["cases"], bound(stores["cases"], {"as_of": "2019-07-01"}))
    assert sorted((row.get("sourceTitle", {}).get("value"), row["otherSource"]["value"][-8:]) for row in rows
                  if row["position"]["value"].endswith("/e1")) == [("Alpha", "untitled"), ("beta", "untitled")]


@pytest.mark.parametrize("graph", ["families", "cases"])
def test_pages_are_prefixes(stores, dbs, graph):
    store, db = stores[graph], dbs[graph]
    checked = sum(check_pages(report, db, bound(store, raw), (1, 2, 3, 10, 100))
                  for raw in param_sets(store, QUESTION, days=6))
    assert checked, "some answer should be cut by a small cap"
