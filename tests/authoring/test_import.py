"""`coderef import`: rows checked, the reference validated with them, written atomically
or not at all (issue 5, item 3)."""

import hashlib
import json
import random
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from support.killing import run_killed as killed
from server import create_app
from server.cli import main as coderef
from server.config import data_files
from server.authoring.importer import plan_import, run_import
from server.validate.engine import validate

ID = "https://w3id.org/coderef/id/"
# The sample re-states, from the fact sheet, two policies the shipped data holds.
SAMPLE_NODES = ("policy/premera/7-03-12", "statement/premera-autologous", "statement/premera-allogeneic",
                "policy/triple-s/07-003-011", "statement/triples-position")
TRIPLE_S_URL = "https://prd-fd-salud-endpoint-gme7cacgf0b5hjgx.a02.azurefd.net/medicalpolicy/docs/07.003.011.html"
TRIPLE_S_TITLE = "Islet Transplantation for Chronic Pancreatitis and Donislecel-jujn for Type 1 Diabetes"
HEADER = "payer,policy_id,title,codes,status,effective_date,last_reviewed,criteria,source,confidence,context\n"
TRIPLE_S_ROW = (f"triple-s,07.003.011,{TRIPLE_S_TITLE},0584T 0585T 0586T,position not retrieved,,2024-10-23,"
                f"Only the policy's title was retrieved.,{TRIPLE_S_URL},confirmed,any\n")


def snapshot(folder: Path) -> dict:
    """Every file under data/ with its content hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def sans_sample(root_copy) -> Path:
    """A writable ROOT whose data lacks the two policies the sample describes."""
    path = root_copy / "data" / "policies-bcbs.ttl"
    g = rdflib.Graph().parse(path)
    for local in SAMPLE_NODES:
        node = rdflib.URIRef(ID + local)
        assert (node, None, None) in g, local
        g.remove((node, None, None))
        g.remove((None, None, node))
    g.serialize(path, format="turtle")
    return root_copy


@pytest.fixture(scope="module")
def sample_dir(repo_root) -> Path:
    return repo_root / "data" / "examples"


def test_examples_are_not_reference_data(repo_root, sample_dir):
    assert (sample_dir / "policies.csv").is_file() and (sample_dir / "policies.yaml").is_file()
    assert not [p for p in data_files({"ROOT": str(repo_root), "ONTOLOGY_DIR": "ontology", "DATA_DIR": "data"})
                if "examples" in p.parts]


def test_sample_is_refused_against_the_shipped_data(root_copy, sample_dir, capsys):
    """The shipped data already describes both policies: a second description is refused,
    naming row and column, and nothing is written."""
    before = snapshot(root_copy / "data")
    assert coderef(["import", str(sample_dir / "policies.csv"), "--root", str(root_copy)]) == 1
    err = capsys.readouterr().err
    assert "row 1 (line 2), column policy_id: policy policy/premera/7-03-12 is already described in data/policies-bcbs.ttl" in err
    assert "row 3 (line 4), column policy_id: policy policy/triple-s/07-003-011 is already described" in err
    assert "nothing written" in err
    assert snapshot(root_copy / "data") == before


@pytest.mark.parametrize("name", ["policies.csv", "policies.yaml"])
def test_sample_imports_and_conforms(sans_sample, sample_dir, name, capsys):
    assert coderef(["import", str(sample_dir / name), "--root", str(sans_sample)]) == 0
    out = capsys.readouterr().out
    assert "2 policies, 3 positions" in out and "the reference conforms" in out
    written = sans_sample / "data" / "imported-policies.ttl"
    g = rdflib.Graph().parse(written)
    CR = rdflib.Namespace("https://w3id.org/coderef/ontology#")
    premera = rdflib.URIRef(ID + "policy/premera/7-03-12")
    autologous = rdflib.URIRef(ID + "statement/premera-7-03-12-autologous")
    assert (premera, CR.policyIdentifier, rdflib.Literal("7.03.12")) in g
    assert (premera, CR.effectiveDate, rdflib.Literal("2021-11-01", datatype=rdflib.XSD.date)) in g
    assert (autologous, CR.coverageStatus, rdflib.URIRef(ID + "vocab/coverage-status/covered-with-criteria")) in g
    assert (autologous, CR.clinicalContext, rdflib.URIRef(ID + "vocab/clinical-context/autologous")) in g
    assert set(g.objects(autologous, CR.appliesTo)) == {rdflib.URIRef(ID + "cpt/" + c) for c in ("0584T", "0585T", "0586T", "48160")}
    # an existing source is reused by its address, not duplicated
    assert set(g.objects(premera, rdflib.DCTERMS.source)) == {rdflib.URIRef(ID + "source/dokumen-premera-70312")}
    assert (written.stat().st_mode & 0o777) == 0o644
    assert validate(settings={"ROOT": str(sans_sample)}).conforms


def test_csv_and_yaml_samples_say_the_same(sans_sample, sample_dir):
    csv_plan = plan_import(sample_dir / "policies.csv", {"ROOT": str(sans_sample)})
    yaml_plan = plan_import(sample_dir / "policies.yaml", {"ROOT": str(sans_sample)})
    assert csv_plan.ok and yaml_plan.ok
    body = [t.split("\n\n", 1)[1] for t in (csv_plan.turtle, yaml_plan.turtle)]  # after the header comment
    assert body[0] == body[1]


def test_bad_rows_are_named_and_nothing_is_written(root_copy, tmp_path, capsys):
    table = tmp_path / "bad.csv"
    table.write_text(
        HEADER
        + TRIPLE_S_ROW.replace("triple-s,", "triple-z,", 1)  # row 1: unknown payer
        + TRIPLE_S_ROW.replace("0585T", "0585X")  # row 2: unknown code
        + TRIPLE_S_ROW.replace("position not retrieved", "covered-ish")  # row 3: bad status
        + TRIPLE_S_ROW.replace("2024-10-23", "2024-10-32")  # row 4: bad date
        + TRIPLE_S_ROW.replace(TRIPLE_S_URL, "salud.grupotriples.com/medicalpolicy")  # row 5: bad address
        + TRIPLE_S_ROW.replace(",confirmed,", ",sure,"),  # row 6: bad confidence
        encoding="utf-8")
    before = snapshot(root_copy / "data")
    assert coderef(["import", str(table), "--root", str(root_copy), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["written"] is False
    found = {(p["row"], p["column"]) for p in report["problems"]}
    for expected in [(1, "payer"), (2, "codes"), (3, "status"), (4, "last_reviewed"), (5, "source"), (6, "confidence")]:
        assert expected in found, (expected, report["problems"])
    by_row = {p["row"]: p for p in report["problems"] if p["column"] != "policy_id"}
    assert "did you mean triple-s" in by_row[1]["message"]
    assert "'0585X'" in by_row[2]["message"]
    assert by_row[4]["line"] == 5
    assert snapshot(root_copy / "data") == before
    assert not list((root_copy / "data").glob(".import-*"))


def test_a_header_without_required_columns_is_refused(root_copy, tmp_path):
    table = tmp_path / "short.csv"
    table.write_text("payer,title,colour\ntriple-s,x,blue\n", encoding="utf-8")
    outcome = run_import(table, {"ROOT": str(root_copy)})
    messages = {(p.column, p.message) for p in outcome.problems}
    assert any(column == "colour" and message.startswith("unknown column") for column, message in messages)
    assert ("policy_id", "required column missing") in messages
    assert not outcome.written


def test_rows_that_break_a_shape_are_refused(sans_sample, tmp_path, capsys):
    """Good cells, bad meaning: Triple-S saying 'investigational' for Lantidra conflicts
    with its drug policy P1.002.018 (covered with criteria): SHACL refuses the whole import."""
    table = tmp_path / "conflict.csv"
    table.write_text(HEADER + TRIPLE_S_ROW.replace("position not retrieved", "investigational").replace(",any\n", ",lantidra\n"),
                     encoding="utf-8")
    before = snapshot(sans_sample / "data")
    assert coderef(["import", str(table), "--root", str(sans_sample)]) == 1
    err = capsys.readouterr().err
    assert "row 1 (line 2): rule 'No conflicting positions of one payer'" in err
    assert "Triple-S Salud has conflicting positions for the same clinical context (lantidra)" in err
    assert snapshot(sans_sample / "data") == before


def test_a_good_import_shows_in_the_questions_after_a_reload(sans_sample, sample_dir):
    """No restart: the running app notices the new file, reloads and answers the new policy."""
    app = create_app({"ROOT": str(sans_sample), "TESTING": True, "RELOAD_INTERVAL": 0.2})
    client = app.test_client()

    def premera_rows():
        rows = client.get("/api/questions/payer_coverage?code=0584T").get_json()["rows"]
        return [r for r in rows if r["policy"] == ID + "policy/premera/7-03-12"]

    assert premera_rows() == []
    assert run_import(sample_dir / "policies.yaml", {"ROOT": str(sans_sample)}).written
    time.sleep(0.3)  # past the reload interval: the next request looks at the files
    rows = premera_rows()
    assert {(r["policyIdentifier"], r["clinicalContext"].rsplit("/", 1)[-1], r["status"].rsplit("/", 1)[-1]) for r in rows} == {
        ("7.03.12", "autologous", "covered-with-criteria"), ("7.03.12", "allogeneic", "investigational")}
    assert {r["effectiveDate"] for r in rows} == {"2021-11-01"}


# ------------------------------------------------------------------ killed mid-write

KILLABLE = r"""
import os, sys, time
real_fsync, real_replace = os.fsync, os.replace

def fsync(fd):
    print("fsync", flush=True)  # the temporary file holds the text, not yet on disk
    time.sleep(0.4)
    real_fsync(fd)

def replace(src, dst):
    print("replace", flush=True)  # complete temporary file, not yet renamed
    time.sleep(0.4)
    real_replace(src, dst)

os.fsync, os.replace = fsync, replace
from server.authoring.importer import run_import
print("ready", flush=True)
outcome = run_import(sys.argv[2], {"ROOT": sys.argv[1]})
print("written" if outcome.written else "refused", flush=True)
"""


def _run_killed(repo_root, root, table, when):
    """Start the import, kill it with SIGKILL at `when` (a marker line or seconds after
    start-up); return whether the process finished first."""
    return killed(KILLABLE, [root, table], repo_root, when)


@pytest.mark.embedded_only
def test_killing_the_import_never_leaves_a_partial_file(sans_sample, tmp_path, repo_root, sample_dir):
    """SIGKILL while the temporary file is written, before the rename, and at random
    moments: data/ always holds the old version or the new one, and it parses."""
    table = tmp_path / "policies.csv"  # same name as the sample: the same target file
    table.write_text(HEADER + TRIPLE_S_ROW, encoding="utf-8")
    assert run_import(table, {"ROOT": str(sans_sample)}).written
    target = sans_sample / "data" / "imported-policies.ttl"
    old = target.read_bytes()
    table.write_text((sample_dir / "policies.csv").read_text(encoding="utf-8"), encoding="utf-8")
    new = plan_import(table, {"ROOT": str(sans_sample)}).turtle.encode()
    assert new != old

    rng = random.Random(5)
    moments = ["fsync", "replace", *(rng.uniform(0.0, 2.5) for _ in range(3))]
    outcomes = []
    for when in moments:
        finished = _run_killed(repo_root, sans_sample, table, when)
        now = target.read_bytes()
        assert now in (old, new), f"partial file after a kill at {when}"
        list(ox.parse(now, format=ox.RdfFormat.TURTLE))  # parses
        assert sorted(p.name for p in (sans_sample / "data").glob("imported-*")) == ["imported-policies.ttl"]
        outcomes.append((when, "new" if now == new else "old", finished))
        if now == new:  # back to the old version for the next round
            target.write_bytes(old)
    # the two deterministic kills land before the rename: the old version survives
    assert outcomes[0][1] == "old" and outcomes[1][1] == "old"
    # a later import sweeps what the killed ones left in data/ (never *.ttl, never loaded)
    assert run_import(table, {"ROOT": str(sans_sample)}).written
    assert target.read_bytes() == new
    assert not list((sans_sample / "data").glob(".import-*"))
