"""The stale_policies report gives the question's rows, in its order, for every parameter set.

Besides the harness's two graphs (the generated one states plain review days only; none of
its injected violations touches a policy), an "unusual" graph adds to the shipped data the
policies below: review days with a timezone, invalid, of another datatype, before year 1,
known to the month or the year, several per policy; ends and successors the question can
never read. Their rows go the report's Oxigraph way (stale_policies_odd).
"""

import re
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reports_diff as rd  # noqa: E402
from server.reports import stale_policies as report  # noqa: E402

UNUSUAL = """
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

AGES = [{"max_age_days": "0"}, {"max_age_days": "30"}, {"max_age_days": "3650"}]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    stores = dict(rd.graphs(str(tmp_path_factory.mktemp("stale_policies"))))
    unusual = ox.Store()
    for quad in stores["shipped"]:
        unusual.add(quad)
    unusual.load(UNUSUAL.encode(), format=ox.RdfFormat.TURTLE)
    stores["unusual"] = unusual
    return {name: (store, rd.report_db(store, report)) for name, store in stores.items()}


def question():
    return rd.catalogue().get("stale_policies")


@pytest.mark.parametrize("name, days, ages", [
    ("shipped", 25, AGES),
    ("generated", 12, AGES),
    ("unusual", 25, AGES + [{"max_age_days": "999999999"}]),
])
def test_report_gives_the_questions_rows(graphs, name, days, ages):
    store, db = graphs[name]
    sets = rd.param_sets(store, question(), days=days, extra=ages)
    assert len(sets) > 4 * days
    for raw in sets:
        assert rd.difference(store, db, question(), report, raw) is None
    reasons = set()
    for raw in sets:
        bindings = rd.catalogue().bind(None, question(), raw)
        reasons |= {r.get("reason", {}).get("value") for r in report.answer(db, bindings, rd.BIG)[0]}
    # every reason shows up on every graph; an unbound one where a next review is no day
    assert reasons >= {"next review date passed", "no review date", "last review older than the limit"}
    assert (None in reasons) == (name == "unusual")


def test_unusual_review_days_take_oxigraphs_way(graphs):
    store, db = graphs["unusual"]
    assert db.execute("SELECT COUNT(*) FROM stale_policies_odd").fetchone()[0] >= 6
    assert db.execute("SELECT COUNT(*) FROM stale_policies_row WHERE odd IS NOT NULL").fetchone()[0] >= 6
    for plain in ("shipped", "generated"):
        assert graphs[plain][1].execute("SELECT COUNT(*) FROM stale_policies_odd").fetchone()[0] == 0
    bindings = rd.catalogue().bind(None, question(), {"as_of": "2024-06-01", "max_age_days": "365"})
    rows, _ = report.answer(db, bindings, rd.BIG)
    since = {r["policyIdentifier"]["value"]: r.get("sinceLastReview", {}).get("value")
             for r in rows if r["policy"]["value"].startswith("https://w3id.org/coderef/id/policy/test/")}
    # a zoned day minus an unzoned one has no duration; a day before year 1 has one (as
    # Oxigraph counts those years); a review after the day, a negative one
    assert since["T-1"] is None and re.fullmatch(r"P[0-9]{6}D", since["T-4"]) and since["T-10"] == "-P2040D"
    assert rd.difference(store, db, question(), report, {"as_of": "2024-06-01"}) is None
    # reviewed on the day itself: a zero duration, as Oxigraph writes it
    on_the_day = {"as_of": "2030-01-01", "max_age_days": "0"}
    rows, _ = report.answer(db, rd.catalogue().bind(None, question(), on_the_day), rd.BIG)
    assert [r["sinceLastReview"]["value"] for r in rows
            if r["policy"]["value"].endswith("/test/future-review")] == ["PT0S"]
    assert rd.difference(store, db, question(), report, on_the_day) is None


@pytest.mark.parametrize("name", ["shipped", "generated", "unusual"])
def test_a_capped_answer_is_a_prefix(graphs, name):
    store, db = graphs[name]
    checked = 0
    for raw in rd.param_sets(store, question(), days=8, extra=AGES):
        bindings = rd.catalogue().bind(None, question(), raw)
        full, _ = report.answer(db, bindings, rd.BIG)
        rd.check_pages(report, db, bindings, sorted({1, 2, 3, 10, max(len(full) - 1, 1), len(full) or 1}))
        checked += len(full) > 10
    assert checked
