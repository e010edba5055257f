"""Graphs of rare cases for the report tests, each beside the shipped reference (and one beside
the generated graph): what the shipped and generated graphs lack, written as Turtle here.

- "coverage_conflicts cases": positions and policies marked conflicting, a conflicting-sources
  gap, dates known only to the month or year, unknown dates, a payer without a name, sources
  with and without titles, and positions whose policies have several successors;
- "stale_policies unusual": review days with a timezone, invalid, of another datatype, before
  year 1, known to the month or the year, several per policy; ends and successors the
  question can never read;
- "family_inconsistencies families": the generated graph with every code family related as
  other approaches (the codes a policy names together);
- "family_inconsistencies cases" (and "... cases alone", without the reference): a position
  in force under two policies with a gap between them, a replaced policy, month- and year-only
  dates, "any" and several clinical contexts, a position with two statuses or two payers,
  statuses not retrieved, a payer without a name, sources with and without titles, a family
  relation stated twice and one stated one way only.
"""

from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from server import config as cfg
from server.rdf.parsing import load_store
from support.reports_diff import generated

COVERAGE_CONFLICTS_CASES = """
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

STALE_POLICIES_UNUSUAL = """
@prefix cr:     <https://w3id.org/coderef/ontology#> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
@prefix payer:  <https://w3id.org/coderef/id/payer/> .
@prefix t:      <https://w3id.org/coderef/id/policy/test/> .

t:zoned a cr:CoveragePolicy ; cr:issuedBy payer:medicare ; cr:policyIdentifier "T-1" ;
    cr:effectiveDate "2020-01-01"^^xsd:date ;
    cr:lastReviewed "2023-03-01Z"^^xsd:date ; cr:nextReview "2024-02-01+05:00"^^xsd:date .
t:zoned-far a cr:CoveragePolicy ; cr:issuedBy payer:aetna ; cr:policyIdentifier "T-2" ;
    cr:lastReviewed "2022-11-30-14:00"^^xsd:date .
t:invalid a cr:CoveragePolicy ; cr:issuedBy payer:cigna ; cr:policyIdentifier "T-3" ;
    cr:lastReviewed "2023-02-30"^^xsd:date ; cr:nextReview "2025-13-01"^^xsd:date .
t:ancient a cr:CoveragePolicy ; cr:issuedBy payer:cigna ; cr:policyIdentifier "T-4" ;
    cr:lastReviewed "-0044-03-15"^^xsd:date .
t:by-year a cr:CoveragePolicy ; cr:issuedBy payer:uhc ; cr:policyIdentifier "T-5" ;
    cr:lastReviewed "2019"^^xsd:gYear ; cr:nextReview "2024-06"^^xsd:gYearMonth ;
    cr:endDate "2030"^^xsd:gYear .
t:zoned-month a cr:CoveragePolicy ; cr:issuedBy payer:uhc ; cr:policyIdentifier "T-6" ;
    cr:lastReviewed "2022-05Z"^^xsd:gYearMonth ; cr:nextReview "2023"^^xsd:gYear .
t:soon a cr:CoveragePolicy ; cr:issuedBy payer:aetna ; cr:policyIdentifier "T-7" ;
    cr:nextReview "soon" .
t:words a cr:CoveragePolicy ; cr:issuedBy payer:aetna ; cr:policyIdentifier "T-8" ;
    cr:lastReviewed "last spring" ; cr:nextReview "2024-01-01T00:00:00"^^xsd:dateTime .
t:twice a cr:CoveragePolicy ; cr:issuedBy payer:medicare ; cr:policyIdentifier "T-9a" , "T-9b" ;
    dct:title "Reviewed twice"@en ; cr:originalEffectiveDate "2018-04"^^xsd:gYearMonth ;
    cr:lastReviewed "2020-01-01"^^xsd:date , "2024-03-01"^^xsd:date ;
    dct:source <https://example.org/a> , <https://example.org/b> ;
    dct:isReplacedBy t:twice-next .
t:twice-next cr:effectiveDate "2024-07"^^xsd:gYearMonth .
<https://example.org/a> dct:title "Source A" ; schema:url "https://example.org/a" .
t:future-review a cr:CoveragePolicy ; cr:issuedBy payer:nameless ; cr:policyIdentifier "T-10" ;
    cr:lastReviewed "2030-01-01"^^xsd:date ; cr:nextReview "2020-01-01"^^xsd:date .
t:blank-start a cr:CoveragePolicy ; cr:policyIdentifier "T-11" ; cr:effectiveDate [] ;
    cr:lastReviewed "2021-06"^^xsd:gYearMonth ; cr:endDate "2024-05"^^xsd:gYearMonth .
t:iri-end a cr:CoveragePolicy ; cr:policyIdentifier "T-12" ; cr:endDate t:never .
t:blank-successor a cr:CoveragePolicy ; cr:policyIdentifier "T-13" ;
    dct:isReplacedBy [ cr:effectiveDate [] ] .
"""

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

FAMILY_CASES = """
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


def _reference() -> list[Path]:
    return [f for f in cfg.data_files(cfg.resolve({})) if "modules" not in f.parts]


@lru_cache(maxsize=None)
def graphs(tmp_root: str) -> dict:
    """name -> pyoxigraph Store, for every graph above."""
    root = Path(tmp_root)
    files = _reference()
    coverage_cases = root / "coverage-conflicts-cases.ttl"
    coverage_cases.write_text(COVERAGE_CONFLICTS_CASES, encoding="utf-8")
    family_cases = root / "family-inconsistencies-cases.ttl"
    family_cases.write_text(FAMILY_CASES, encoding="utf-8")
    unusual = load_store(files)
    unusual.load(STALE_POLICIES_UNUSUAL.encode(), format=ox.RdfFormat.TURTLE)
    # An update's WHERE reads the default graph only: the files' graphs merged into it.
    families = ox.Store()
    families.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in load_store(files + [generated(tmp_root)]))
    families.update(RELATE_FAMILIES)
    return {
        "coverage_conflicts cases": load_store(files + [coverage_cases]),
        "stale_policies unusual": unusual,
        "family_inconsistencies families": families,
        "family_inconsistencies cases": load_store(files + [family_cases]),
        "family_inconsistencies cases alone": load_store([family_cases]),
    }
