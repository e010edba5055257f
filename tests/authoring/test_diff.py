"""`coderef diff OLD NEW` and /changes (issue 5, item 4)."""

import json
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from server import create_app
from server.cli import main as coderef
from server.authoring.diff import compare, diff

POLICIES = Path("data") / "policies-commercial.ttl"
# What the test changes in its copy: Cigna's allogeneic position, status and date.
ALLOGENEIC_OLD = """stmt:cigna-0107-allogeneic a cr:CoveragePosition ;
    cr:payer payer:cigna ;
    cr:appliesTo cpt:0584T , cpt:0585T , cpt:0586T ;
    cr:coverageStatus cov:investigational ;
    cr:clinicalContext ctx:allogeneic ;
    cr:effectiveDate "2025-09-26"^^xsd:date ;"""
ALLOGENEIC_NEW = (ALLOGENEIC_OLD.replace("cov:investigational", "cov:covered-with-criteria")
                  .replace('"2025-09-26"', '"2026-01-01"'))
STATUS = ("Cigna Healthcare MM 0107 (allogeneic): status for 0584T, 0585T, 0586T "
          "investigational -> covered with criteria, effective 2026-01-01")
DATE = "Cigna Healthcare MM 0107 (allogeneic): effective date for 0584T, 0585T, 0586T 2025-09-26 -> 2026-01-01"


def change_cigna(root: Path) -> None:
    path = root / POLICIES
    text = path.read_text(encoding="utf-8")
    assert ALLOGENEIC_OLD in text
    path.write_text(text.replace(ALLOGENEIC_OLD, ALLOGENEIC_NEW), encoding="utf-8")


@pytest.fixture
def two_roots(tmp_path, repo_root):
    """Two copies of the shipped ontology/ and data/; NEW has Cigna's change."""
    roots = []
    for name in ("old", "new"):
        for part in ("ontology", "data"):
            shutil.copytree(repo_root / part, tmp_path / name / part, ignore=shutil.ignore_patterns("modules"))
        roots.append(tmp_path / name)
    change_cigna(roots[1])
    return roots


def test_diff_of_two_folders_tells_the_change_by_payer_and_by_code(two_roots, capsys):
    old, new = two_roots
    assert coderef(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"From {old} to {new}: 2 triples removed, 2 added, about 1 resource.")
    by_payer, by_code = out.split("\nBy code\n")
    assert "\nBy payer\n  Cigna Healthcare\n" in by_payer
    assert f"    {STATUS}\n" in by_payer and f"    {DATE}\n" in by_payer
    for code in ("0584T", "0585T", "0586T"):
        assert (f"  {code}\n    Cigna Healthcare MM 0107 (allogeneic): status for {code} investigational -> "
                f"covered with criteria, effective 2026-01-01\n") in by_code
    assert "48160" not in by_code  # the allogeneic position does not name it


def test_json_and_patch(two_roots, capsys):
    old, new = two_roots
    assert coderef(["diff", str(old), str(new), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and (result["removed"], result["added"]) == (2, 2)
    assert result["by_payer"] == {"Cigna Healthcare": [STATUS, DATE]}
    status = next(c for c in result["changes"] if c["property"] == "status")
    assert (status["old"], status["new"], status["codes"]) == (["investigational"], ["covered with criteria"], ["0584T", "0585T", "0586T"])

    assert coderef(["diff", str(old), str(new), "--format", "patch"]) == 0
    patch = capsys.readouterr().out
    assert "DELETE DATA {" in patch and "INSERT DATA {" in patch
    # the patch turns OLD into NEW on a SPARQL store
    store, target = ox.Store(), ox.Store()
    for folder, into in ((old, store), (new, target)):
        for path in sorted(folder.glob("ontology/*.ttl")) + sorted(folder.glob("data/*.ttl")):
            into.load(path=str(path), format=ox.RdfFormat.TURTLE)
    before = set(store)
    store.update(patch)
    assert set(store) == set(target) != before


def test_no_change(two_roots, capsys):
    old, _ = two_roots
    assert coderef(["diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out == f"No change between {old} and {old}.\n"


def test_blank_nodes_compare_canonically():
    one = rdflib.Graph().parse(data='<http://example.org/a> <http://example.org/p> [ <http://example.org/q> "x" ] .', format="turtle")
    two = rdflib.Graph().parse(data='<http://example.org/a> <http://example.org/p> [ <http://example.org/q> "x" ] .', format="turtle")
    three = rdflib.Graph().parse(data='<http://example.org/a> <http://example.org/p> [ <http://example.org/q> "y" ] .', format="turtle")
    assert set(one) != set(two)  # different blank node labels
    assert compare(one, two) == (set(), set())
    removed, added = compare(one, three)
    assert len(removed) == len(added) == 1


def test_a_side_that_is_neither_folder_nor_revision(tmp_path, capsys):
    assert coderef(["diff", str(tmp_path / "missing"), "--root", str(tmp_path), "HEAD"]) == 2
    assert "is neither a folder nor a git revision" in capsys.readouterr().err


# ------------------------------------------------------------------ git revisions

def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=coderef tests", "-c", "user.email=tests@localhost",
                    "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


@pytest.fixture
def history(root_copy):
    """A git repository of the reference: a first commit, then Cigna's change tagged v1,
    then a working-copy edit of Premera's effective date."""
    git(root_copy, "init", "-q", "-b", "main")
    git(root_copy, "add", "-A")
    git(root_copy, "commit", "-q", "-m", "first")
    return root_copy


def test_diff_between_git_revisions(history, capsys):
    change_cigna(history)
    git(history, "commit", "-q", "-am", "Cigna 0107 allogeneic")
    assert coderef(["diff", "HEAD~1", "HEAD", "--root", str(history)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("From HEAD~1 (")
    assert f"    {STATUS}\n" in out and f"    {DATE}\n" in out
    # a revision against the working folder
    assert coderef(["diff", "HEAD~1", str(history), "--root", str(history)]) == 0
    assert f"    {STATUS}\n" in capsys.readouterr().out
    assert coderef(["diff", "HEAD", str(history), "--root", str(history)]) == 0
    assert "No change between HEAD" in capsys.readouterr().out
    assert coderef(["diff", "--root", str(history), "--", "--output=x", "HEAD"]) == 2  # never passed to git as an option


def test_changes_page_against_the_first_commit_then_the_last_tag(history):
    change_cigna(history)  # uncommitted: the working data
    app = create_app({"ROOT": str(history), "TESTING": True})
    client = app.test_client()
    html = client.get("/changes").get_data(as_text=True)
    assert "the first commit" in html and "(the repository has no tag)" in html
    assert STATUS.replace("->", "-&gt;") in html

    git(history, "commit", "-q", "-am", "Cigna 0107 allogeneic")
    git(history, "tag", "v1")
    path = history / "data" / "policies-commercial.ttl"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'dct:title "Pancreatic Islet Cell Transplantation"@en ;\n    cr:effectiveDate "2025-09-26"',
        'dct:title "<b>Pancreatic</b> Islet Cell Transplantation"@en ;\n    cr:effectiveDate "2025-09-26"'), encoding="utf-8")
    html = client.get("/changes").get_data(as_text=True)
    assert "the last tag, v1" in html and STATUS.replace("->", "-&gt;") not in html
    assert "&lt;b&gt;Pancreatic&lt;/b&gt;" in html and "<b>Pancreatic" not in html
    result = client.get("/api/changes").get_json()
    assert result["baseline"] == "the last tag, v1"
    assert any("title Pancreatic Islet Cell Transplantation -> <b>Pancreatic</b>" in s for s in result["by_payer"]["Cigna Healthcare"])
    patch = client.get("/changes/patch")
    assert patch.mimetype == "application/sparql-update" and "INSERT DATA" in patch.get_data(as_text=True)


def test_changes_page_outside_git(root_copy):
    client = create_app({"ROOT": str(root_copy), "TESTING": True}).test_client()
    response = client.get("/changes")
    assert response.status_code == 200
    assert "is not a git repository" in response.get_data(as_text=True)


def test_diff_function_reads_revisions_of_this_repository(repo_root):
    """The shipped repository: its first commit against the working data, by git show."""
    first = subprocess.run(["git", "-C", str(repo_root), "rev-list", "--max-parents=0", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.split()[-1]
    result = diff(first, str(repo_root), {"ROOT": str(repo_root)})
    assert result.added and "Cigna Healthcare" in result.by_payer()
