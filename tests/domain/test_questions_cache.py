"""The cache of the rdflib portability check: a second start skips the parse, and nothing it
holds lets a changed or broken question through."""

import json
import shutil
from types import SimpleNamespace

import pytest

from server import config as cfg
from server.questions import reading as questions
from server.web import extensions
from server.questions import HeaderError, load_catalogue

pytestmark = pytest.mark.embedded_only


@pytest.fixture
def checks(monkeypatch):
    """The files the rdflib check really ran on, in this process's order (the in-process
    memo emptied, so that only the file cache can spare a check)."""
    monkeypatch.setattr(questions, "_CHECKED", {})
    seen = []
    real = questions._check_portable

    def counting(path, query, params):
        seen.append(path.name)
        return real(path, query, params)

    monkeypatch.setattr(questions, "_check_portable", counting)
    return seen


@pytest.fixture
def folder(tmp_path, repo_root):
    """Two real questions, one with a parameter and one without."""
    out = tmp_path / "queries"
    out.mkdir()
    for name in ("bundled_services.rq", "benchmarks.rq"):
        shutil.copy(repo_root / "queries" / name, out / name)
    return out


def forget(monkeypatch):
    """A new process: the in-process memo is empty again."""
    monkeypatch.setattr(questions, "_CHECKED", {})


def test_second_load_skips_the_rdflib_check(folder, tmp_path, checks, monkeypatch):
    cache = tmp_path / "var" / "question-checks.json"
    first = load_catalogue(folder, cache)
    assert sorted(checks) == ["benchmarks.rq", "bundled_services.rq"]
    assert len(json.loads(cache.read_text())["passed"]) == 2
    forget(monkeypatch)
    checks.clear()
    second = load_catalogue(folder, cache)
    assert checks == []
    # The Oxigraph parse still runs: the columns come from it, not from the cache.
    assert [q.columns for q in second] == [q.columns for q in first]
    assert second.get("bundled_services").params == first.get("bundled_services").params


def test_a_changed_query_is_checked_again(folder, tmp_path, checks, monkeypatch):
    cache = tmp_path / "question-checks.json"
    load_catalogue(folder, cache)
    path = folder / "bundled_services.rq"
    path.write_text(path.read_text().replace("ORDER BY", "# reordered\nORDER BY", 1))
    forget(monkeypatch)
    checks.clear()
    load_catalogue(folder, cache)
    assert checks == ["bundled_services.rq"]
    # The file now holds the keys of the catalogue as it is, the old text's key gone.
    assert len(json.loads(cache.read_text())["passed"]) == 2


def test_a_renamed_parameter_is_checked_again(folder, tmp_path, checks, monkeypatch):
    cache = tmp_path / "question-checks.json"
    load_catalogue(folder, cache)
    path = folder / "bundled_services.rq"
    path.write_text(path.read_text().replace("{name: code,", "{name: code, default: 0584T,", 1))
    forget(monkeypatch)
    checks.clear()
    load_catalogue(folder, cache)
    assert checks == []  # same text and names: a default changes nothing the check looks at
    path.write_text(path.read_text().replace("?code", "?proc").replace("{name: code,", "{name: proc,", 1))
    forget(monkeypatch)
    load_catalogue(folder, cache)
    assert checks == ["bundled_services.rq"]


@pytest.mark.parametrize("versions", [["0.0.0", "0.5.13"], ["7.6.0", "0.0.0"]], ids=["rdflib", "pyoxigraph"])
def test_another_engine_version_checks_again(folder, tmp_path, checks, monkeypatch, versions):
    """An upgrade of rdflib or of pyoxigraph: every query is checked again (`coderef serve`
    skips its start-up check only when every question is vouched for)."""
    cache = tmp_path / "question-checks.json"
    load_catalogue(folder, cache)
    forget(monkeypatch)
    checks.clear()
    real = questions._engine_versions()
    changed = [v if v == "0.0.0" else real[i] for i, v in enumerate(versions)]
    monkeypatch.setattr(questions, "_engine_versions", lambda: changed)
    load_catalogue(folder, cache)
    assert sorted(checks) == ["benchmarks.rq", "bundled_services.rq"]


def test_a_broken_query_still_fails_with_the_cache_present(folder, tmp_path, checks, monkeypatch):
    cache = tmp_path / "question-checks.json"
    load_catalogue(folder, cache)
    path = folder / "bundled_services.rq"
    good = path.read_text()
    # Parses on Oxigraph, but a parameter in a BIND is what the rdflib check refuses.
    path.write_text(good.replace("WHERE {", "WHERE {\n  BIND(?code AS ?asked)", 1))
    forget(monkeypatch)
    with pytest.raises(HeaderError, match=r"bundled_services\.rq: parameter 'code' is used in a BIND"):
        load_catalogue(folder, cache)
    # A query no engine parses fails as before.
    path.write_text(good.replace("WHERE {", "WHERE {{", 1))
    forget(monkeypatch)
    with pytest.raises(HeaderError, match=r"bundled_services\.rq: the query does not parse"):
        load_catalogue(folder, cache)
    # A failure is never recorded: the file still names only the two good queries.
    assert len(json.loads(cache.read_text())["passed"]) == 2


def test_a_key_written_by_hand_does_not_excuse_another_text(folder, tmp_path, checks, monkeypatch):
    cache = tmp_path / "question-checks.json"
    cache.write_text(json.dumps({"passed": ["0" * 64]}))
    load_catalogue(folder, cache)
    assert sorted(checks) == ["benchmarks.rq", "bundled_services.rq"]
    assert "0" * 64 not in json.loads(cache.read_text())["passed"]


def test_an_unreadable_or_unwritable_cache_is_no_cache(folder, tmp_path, checks, monkeypatch):
    corrupt = tmp_path / "question-checks.json"
    corrupt.write_text("{not json")
    assert len(load_catalogue(folder, corrupt)) == 2
    assert len(json.loads(corrupt.read_text())["passed"]) == 2  # rewritten whole
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    forget(monkeypatch)
    checks.clear()
    assert len(load_catalogue(folder, blocker / "question-checks.json")) == 2
    assert sorted(checks) == ["benchmarks.rq", "bundled_services.rq"]
    assert not list(tmp_path.glob(".question-checks-*"))


def test_the_app_keeps_the_cache_beside_the_store(folder, tmp_path, checks):
    settings = cfg.resolve({"ROOT": str(tmp_path), "QUERIES_DIR": str(folder)})
    app = SimpleNamespace(config=settings, extensions={})
    extensions.init_questions(app)
    assert "bundled_services" in app.extensions["coderef.questions"]
    assert (tmp_path / "var" / "question-checks.json").is_file()
    assert not (tmp_path / "var" / "store" / "question-checks.json").exists()
