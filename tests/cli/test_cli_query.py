"""`coderef query` (issue 3, item 5) gives the answers of the JSON API, as text, JSON or CSV,
over both stores; a bad parameter exits 2 with a message naming it."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import server.graph.open
from server.cli import main as coderef


@pytest.fixture
def cli(app, backend_environment, monkeypatch, capsys):
    """`coderef ...` in process, on the app's backend and over the app's store (loading the
    reference once per session, not once per call); (exit code, stdout, stderr)."""
    opened = []

    def open_store(settings=None, progress=None):
        opened.append(settings)
        return app.extensions["coderef.graph"].store

    monkeypatch.setattr(server.graph.open, "open_store", open_store)

    def run(*args):
        capsys.readouterr()
        code = coderef(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    run.opened = opened
    return run


def api(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


def one_page(response) -> dict:
    """An HTTP answer without its paging keys, checking that it was the only page."""
    answer = response.get_json()
    paging = {key: answer.pop(key) for key in ("offset", "limit", "next")}
    assert paging["offset"] == 0 and paging["next"] is None
    return answer


def test_json_is_the_api_answer(cli, client, app):
    code, out, _ = cli("query", "bundled_services", "--param", "code=0584T", "--format", "json")
    assert code == 0
    # The command asked for the store the environment names (CODEREF_SPARQL_ENDPOINT or none).
    assert cli.opened[0]["SPARQL_ENDPOINT"] == app.config["SPARQL_ENDPOINT"]
    answer = json.loads(out)
    # The command gives the whole (capped) answer; over HTTP it is the first and only page.
    assert answer == one_page(api(client, "/api/questions/bundled_services?code=0584T"))
    assert {"77001", "75885", "36481"} <= {r["reportedAloneByNotation"] for r in answer["rows"]}


def test_csv_is_the_api_csv(cli, client):
    code, out, _ = cli("query", "payer_coverage", "-p", "code=0586T", "--format", "csv")
    assert code == 0
    assert out == api(client, "/api/questions/payer_coverage.csv?code=0586T").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(out)))
    cigna = [r for r in rows if r["payerSlug"] == "cigna" and r["clinicalContextLabel"] == "allogeneic"]
    assert cigna and cigna[0]["statusLabel"] == "investigational"


def test_text_shows_the_same_rows(cli, client):
    code, out, _ = cli("query", "modifiers", "--param", "code=0584T")
    assert code == 0
    rows = api(client, "/api/questions/modifiers?code=0584T").get_json()["rows"]
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["modifier", "modifierNotation", "modifierLabel"]
    assert lines[-1] == f"({len(rows)} rows)"
    assert len(lines) == len(rows) + 3  # header, rule, rows, count
    notations = {line.split()[1] for line in lines[2:-1]}
    assert notations == {r["modifierNotation"] for r in rows}


def test_parameters_with_defaults(cli, client):
    code, out, _ = cli("query", "stale_policies", "--param", "as_of=2025-01-01", "--format", "json")
    assert code == 0
    assert json.loads(out) == one_page(api(client, "/api/questions/stale_policies?as_of=2025-01-01"))


def test_list_of_questions(cli):
    code, out, _ = cli("query")
    assert code == 0
    assert "bundled_services" in out and "code=code" in out and "as_of=date?" in out


@pytest.mark.parametrize("args, words", [
    (["bundled_services", "--param", 'code=0584T" } ; DROP ALL #'], "parameter 'code'"),
    (["bundled_services", "--param", "code=9999T"], "no code 9999T"),
    (["bundled_services"], "parameter 'code' is required"),
    (["bundled_services", "--param", "code"], "name=value"),
    (["bundled_services", "--param", "code=0584T", "--param", "colour=red"], "unknown parameter 'colour'"),
    (["stale_policies", "--param", "as_of=yesterday"], "parameter 'as_of'"),
    (["codes_for_indication", "--param", "icd=0584T"], "parameter 'icd'"),
    (["no_such_question"], "no question 'no_such_question'"),
])
def test_bad_input_exits_2_with_a_message(cli, args, words):
    code, out, err = cli("query", *args)
    assert code == 2
    assert out == ""
    assert words in err and err.startswith("coderef: ")
    if words != "no code 9999T":
        assert not cli.opened, "the store was opened for input that is wrong on its face"


@pytest.mark.embedded_only
def test_console_script(repo_root):
    """The installed `coderef` itself, in a fresh process on the real store."""
    exe = Path(sys.executable).with_name("coderef")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    done = subprocess.run([str(exe), "query", "related_codes", "-p", "code=0584T", "--format", "json"],
                          capture_output=True, text=True, env=env, cwd=repo_root, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert {("0585T", "laparoscopic"), ("0586T", "open")} <= {(r["relatedNotation"], r["relatedApproachLabel"]) for r in rows}
