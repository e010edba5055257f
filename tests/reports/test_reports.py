"""Reports (server/reports/): made once per build beside it, used only for the question text
they were made from, never half-made, and answering through the API as the SPARQL does.
Each report's rows are proven equal to its question's in tests/reports/test_report_rows.py."""

import logging
import os

import pytest

from server import config as cfg
from server import create_app, reports
from server.graph.builds import ensure_reports
from server.graph.open import open_store

EVERY = ("coverage_conflicts", "family_inconsistencies", "payer_gaps", "stale_policies")


@pytest.fixture
def settings(root_copy, tmp_path_factory):
    return cfg.resolve({"ROOT": str(root_copy), "STORE": "persisted",
                        "STORE_DIR": str(tmp_path_factory.mktemp("var") / "store")})


def test_every_report_was_written_for_the_shipped_question(repo_root):
    """Fails when a question with a report is edited: bring the report up to date (its
    differential test, tests/reports/test_report_rows.py, says where it differs), then its QUERY_SHA."""
    assert sorted(reports.modules()) == list(EVERY)
    for qid, module in reports.modules().items():
        assert module.QUERY_SHA == reports.query_sha(repo_root / "queries" / f"{qid}.rq"), qid
        assert module.COLUMNS and set(module.ORDER) <= set(module.COLUMNS)


def test_a_persisted_build_gets_its_reports_once(settings):
    store = open_store(settings)
    build = store.source[1]
    path = build / reports.FILE
    assert path.is_file() and all(qid in store.reports for qid in EVERY)
    made = path.stat().st_mtime_ns
    again = open_store(settings)
    assert path.stat().st_mtime_ns == made  # opened, not made again
    assert all(qid in again.reports for qid in EVERY)
    assert [p.name for p in build.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_an_edited_question_runs_as_sparql(settings, root_copy, caplog):
    """A report answers only the question text it was written for: edited, the question
    runs as SPARQL (and test_every_report_was_written_for_the_shipped_question fails)."""
    build = open_store(settings).source[1]
    rq = root_copy / "queries" / "payer_gaps.rq"
    rq.write_text(rq.read_text(encoding="utf-8").replace("ORDER BY ?notation", "ORDER BY DESC(?notation)"),
                  encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="server.reports"):
        kept = reports.Reports(build / reports.FILE, root_copy / "queries")
    assert "payer_gaps" not in kept and "stale_policies" in kept
    assert "payer_gaps was written for another version" in caplog.text
    store = open_store(settings)  # makes the reports again: without payer_gaps
    assert "payer_gaps" not in store.reports and "stale_policies" in store.reports
    app = create_app({"ROOT": settings["ROOT"], "STORE": "persisted", "STORE_DIR": settings["STORE_DIR"],
                      "TESTING": True, "CACHE_MB": 0})
    rows = app.test_client().get("/api/questions/payer_gaps?payer=cigna").get_json()["rows"]
    notations = [r["notation"] for r in rows]
    assert len(set(notations)) > 1 and notations == sorted(notations, reverse=True)


def test_a_failing_report_leaves_no_file_and_the_questions_run_as_sparql(settings, monkeypatch, caplog):
    store = open_store({**settings, "REPORTS": False})
    assert store.reports is None
    build = store.source[1]
    module = reports.modules()["payer_gaps"]

    def broken(store, db):
        db.execute("INSERT INTO payer_gaps_term VALUES (1, 'x', 0)")
        raise RuntimeError("the engine failed")

    monkeypatch.setattr(module, "extract", broken)
    with pytest.raises(RuntimeError):
        reports.make(store.store, build / reports.FILE, cfg.folder(settings, "QUERIES_DIR"))
    assert sorted(os.listdir(build)) == sorted(p for p in os.listdir(build) if not p.startswith(".")) \
        and not (build / reports.FILE).exists()
    with caplog.at_level(logging.WARNING):
        assert ensure_reports(build, store.store, cfg.folder(settings, "QUERIES_DIR")) is None
    assert "could not be made" in caplog.text and "the engine failed" in caplog.text


PARAMS = {
    "coverage_conflicts": [{}, {"as_of": "2024-06-01"}],
    "family_inconsistencies": [{}, {"payer": "medicare"}, {"as_of": "2025-01-01"}],
    "payer_gaps": [{"payer": "medicare"}, {"payer": "cigna", "as_of": "2024-06-01"}],
    "stale_policies": [{}, {"as_of": "2023-01-01", "max_age_days": "30"}],
}


@pytest.mark.parametrize("qid", EVERY)
def test_the_api_answers_alike_with_and_without_reports(settings, qid):
    """JSON, CSV and HTML pages, paged or not: the same with the reports as with the SPARQL."""
    with_reports = create_app({**settings, "TESTING": True, "CACHE_MB": 0}).test_client()
    without = create_app({**settings, "TESTING": True, "CACHE_MB": 0, "REPORTS": False}).test_client()
    for params in PARAMS[qid]:
        for query in ({}, {"limit": "2"}, {"limit": "2", "offset": "1"}):
            args = {**params, **query}
            for path, extra in ((f"/api/questions/{qid}", {}), (f"/api/questions/{qid}", {"format": "csv"}),
                                (f"/questions/{qid}", {})):
                a = with_reports.get(path, query_string={**args, **extra})
                b = without.get(path, query_string={**args, **extra})
                assert a.status_code == 200 and (a.status_code, a.data) == (b.status_code, b.data), (path, args)
