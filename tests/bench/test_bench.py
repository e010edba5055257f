"""`make bench` works end to end: a smoke run of benchmarks/run.py at its smallest (every
backend, every question, HTTP, validation, the targets table). Figures are never asserted:
measurements are not tests; that the tables are complete is."""

import re
import subprocess
import sys

import pytest

from server.questions import load_catalogue


@pytest.fixture(scope="module")
def bench(repo_root):
    done = subprocess.run(
        [sys.executable, str(repo_root / "benchmarks" / "run.py"), "--sizes", "1k", "--quick", "--runs", "1",
         "--pyshacl-cap", "0", "--rdflib-cap", "0.5"],
        cwd=repo_root, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_every_section_printed(bench):
    out = bench.stdout
    for heading in ("# coderef benchmarks", "## synthetic 1k (+ reference)", "## Validation", "## Targets"):
        assert heading in out, heading
    assert "failed" not in out and "not measured:" not in out.lower(), out
    assert "CODEREF_CACHE_MB=0" in out, "the HTTP figures say the answer cache was off"


def test_every_question_measured_on_every_backend(bench, repo_root):
    rows = {line.split("|")[1].strip(): line for line in bench.stdout.splitlines() if line.startswith("| ")}
    reported = {"coverage_conflicts", "family_inconsistencies", "payer_gaps", "stale_policies"}
    assert {name.removesuffix(" (report)") for name in rows if name.endswith(" (report)")} == reported
    rows = {name.removesuffix(" (report)"): line for name, line in rows.items()}
    for q in load_catalogue(repo_root / "queries"):
        assert q.id in rows, q.id
        cells = [c.strip() for c in rows[q.id].split("|")[2:-1]]
        # rows, memory p50/p99, persisted p50/p99, engine, rdflib, ratio, HTTP p50/p99, HTTP / engine
        assert len(cells) == 11 and "error" not in cells[0], rows[q.id]
        assert all(re.fullmatch(r"\*{0,2}[0-9.]+\*{0,2}.*", c) for c in cells[1:6] + cells[8:10]), rows[q.id]


def test_load_and_validation_rows(bench):
    out = bench.stdout
    for label in ("Oxigraph in memory", "Oxigraph persisted: build", "Oxigraph persisted: open", "rdflib Memory"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {label}"))
        assert re.search(r"\| [0-9]+ \| [0-9.]+ \| [0-9]+ \|", row), row
    assert re.search(r"\| Oxigraph persisted: its reports \(server/reports/\), made once per build \| \| [0-9.]+ \|", out), out
    assert re.search(r"\| Oxigraph in memory: its reports, made at the first question that has one \| \| [0-9.]+ \|", out), out
    assert re.search(r"\| reference \+ synthetic 1k \(21 injected\) \| [0-9,]+ \| [1-9][0-9]* \| [0-9.]+ \|", out), out
    assert "== synthetic 1k" in bench.stderr and "== synthetic" not in out, "progress on stderr, tables on stdout"
    assert re.search(r"restart [0-9.]+ s \(launch to first answer; median of 3 restarts\)", out), out


def test_pyshacl_is_stopped_at_its_cap(repo_root, tmp_path):
    sys.path.insert(0, str(repo_root / "benchmarks"))
    import generate
    import validation

    root = generate.make_root(tmp_path)
    assert validation.run_validate(root, "pyshacl", cap=0.3) == {"timeout": 0.3}
    assert validation.estimate([(1000, 1.0), (2000, 4.0)], 4000) == pytest.approx(16.0)
    assert validation.estimate([(1000, 1.0)], 10_000) == pytest.approx(100.0)
