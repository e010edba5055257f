"""The stale_policies report: unusual review days take Oxigraph's way, and a capped answer is
a prefix. Its rows against its SPARQL: tests/reports/test_report_rows.py.

Besides the harness's two graphs (the generated one states plain review days only; none of
its injected violations touches a policy), an "unusual" graph (support/report_cases.py)
adds to the shipped data policies with review days with a timezone, invalid, of another
datatype, before year 1, known to the month or the year, several per policy; ends and
successors the question can never read. Their rows go the report's Oxigraph way
(stale_policies_odd).
"""

import re

import pytest

from server.reports import stale_policies as report
from support import reports_diff as rd



AGES = [{"max_age_days": "0"}, {"max_age_days": "30"}, {"max_age_days": "3650"}]


@pytest.fixture(scope="module")
def graphs(report_graphs, report_db):
    """name -> (store, the report's tables)."""
    names = {"shipped": "shipped", "generated": "generated", "unusual": "stale_policies unusual"}
    return {short: (report_graphs[name], report_db("stale_policies", name)) for short, name in names.items()}


def question():
    return rd.catalogue().get("stale_policies")


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
