"""`coderef validate`: exit codes, the checklist text, JSON, and unreadable input.

Exit 0 conforms, 1 violations (or warnings with --strict), 2 unreadable input naming the
file and line. The broken copy is the issue's own example: a policy that ends before it
starts, a code without a label and a bundling cycle, each named in the output.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF, SH

from server.cli import main as coderef

TESTS = Path(__file__).resolve().parent.parent
SUNSET_WARNING = TESTS / "shapes" / "CategoryIIISunsetShape" / "invalid-past-sunset.ttl"
RESULT_KEYS = {"severity", "focus", "path", "message", "shape"}


def run(capsys, *args):
    code = coderef(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name}: expected one {old!r}"
    path.write_text(text.replace(old, new))


def break_copy(root: Path) -> None:
    """The three faults of the issue, made in the copy's real data files."""
    replace_once(root / "data" / "policies-commercial.ttl",
                 'cr:nextReview "2022-06-15"^^xsd:date ;',
                 'cr:nextReview "2022-06-15"^^xsd:date ;\n    cr:endDate "2020-01-01"^^xsd:date ;')
    replace_once(root / "data" / "family.ttl",
                 '    skos:prefLabel "Pancreatic islet transplant: cells infused into the portal vein at laparoscopy"@en ;\n',
                 "")
    with (root / "data" / "family.ttl").open("a") as f:
        # 0584T already includes portal vein catheterisation, reported alone by 36481.
        f.write("""
cpt:36481 cr:bundledService <https://w3id.org/coderef/id/statement/test-36481-bundle-islets> .
<https://w3id.org/coderef/id/statement/test-36481-bundle-islets> a cr:BundledService ;
    rdfs:label "Islet infusion"@en ;
    cr:componentType <https://w3id.org/coderef/id/vocab/component-type/islet-transplantation> ;
    cr:reportedAloneBy cpt:0584T ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/inferred> ;
    dct:source src:factsheet .
""")


def test_shipped_data_conforms(capsys):
    code, out, err = run(capsys)
    assert code == 0, out + err
    assert "0 violations" in out and out.rstrip().endswith("conforms")


def test_broken_copy_exits_1_and_names_each_fault(root_copy, capsys):
    break_copy(root_copy)

    code, out, err = run(capsys, "--root", root_copy)
    assert code == 1, out + err
    blocks = _checklist(out)
    assert any("0585T: the code has no label" in item for item in blocks["0585T"])
    assert any("bundling cycle with 36481" in item for item in blocks["0584T"])
    assert any("bundling cycle with 0584T" in item for item in blocks["36481"])
    assert any("policy Medical Coverage Policy 0107 ends on 2020-01-01, before its effective date 2021-06-15" in item
               for items in blocks.values() for item in items)
    assert "does not conform" in out.splitlines()[-1]

    code, out, _ = run(capsys, "--root", root_copy, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["conforms"] is False
    assert all(RESULT_KEYS <= set(r) for r in report["results"])
    assert all(r["severity"] == "Violation" for r in report["results"])
    shapes = {r["shape"].rsplit("#", 1)[-1] for r in report["results"]}
    assert shapes == {"CodeLabelShape", "BundlingCycleShape", "DateOrderShape"}, shapes
    label = next(r for r in report["results"] if r["shape"].endswith("#CodeLabelShape"))
    assert label["focus"] == "https://w3id.org/coderef/id/cpt/0585T"
    assert label["path"] == "http://www.w3.org/2004/02/skos/core#prefLabel"


def _checklist(out: str) -> dict:
    """The text report as {group: [items]}: a heading line, then '  [ ] ...' items."""
    blocks, current = {}, None
    for line in out.splitlines():
        if line.startswith("  [ ] "):
            assert current is not None, f"item outside a group: {line}"
            blocks[current].append(line[len("  [ ] "):])
        elif line.strip() and not line.startswith(" "):
            current = line.strip()
            blocks.setdefault(current, [])
    return blocks


def test_warnings_alone_exit_0_unless_strict(capsys):
    code, out, _ = run(capsys, SUNSET_WARNING)
    assert code == 0, out
    items = _checklist(out)["0584T"]
    assert items and all(item.startswith("Warning: 0584T: Category III sunset date 2001-01-01") for item in items)

    code, out, _ = run(capsys, SUNSET_WARNING, "--strict")
    assert code == 1, out
    assert "strict" in out.splitlines()[-1]


def test_json_results_have_the_documented_fields(capsys):
    code, out, _ = run(capsys, SUNSET_WARNING, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["conforms"] is True
    [result] = report["results"]
    assert RESULT_KEYS <= set(result)
    assert result["severity"] == "Warning"
    assert result["focus"] == "https://w3id.org/coderef/id/cpt/0584T"
    assert result["shape"] == "https://w3id.org/coderef/shapes#CategoryIIISunsetShape"


def test_turtle_format_is_a_shacl_report(capsys):
    code, out, _ = run(capsys, SUNSET_WARNING, "--format", "turtle")
    assert code == 0
    graph = rdflib.Graph().parse(data=out, format="turtle")
    assert len(list(graph.subjects(RDF.type, SH.ValidationResult))) == 1
    assert (None, SH.resultSeverity, SH.Warning) in graph


@pytest.mark.parametrize("where", ["data/payers.ttl", "ontology/coderef.ttl", "shapes/core.shapes.ttl"])
def test_malformed_turtle_exits_2_with_file_and_line(root_copy, capsys, where):
    path = root_copy / where
    lines = path.read_text().splitlines()
    lines.insert(20, '<https://w3id.org/coderef/id/x> <https://w3id.org/coderef/id/y> "unterminated .')
    path.write_text("\n".join(lines) + "\n")

    code, out, err = run(capsys, "--root", root_copy)
    assert code == 2, out + err
    assert f"{path.name}, line 21" in err, err
    assert "Traceback" not in err + out


def test_malformed_path_argument_in_a_real_process(tmp_path):
    """The installed command, as a person runs it: message, no traceback, exit 2."""
    bad = tmp_path / "claims.ttl"
    bad.write_text("@prefix cr: <https://w3id.org/coderef/ontology#> .\n\ncr:a cr:b cr:c\n")
    command = Path(sys.executable).with_name("coderef")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "server.cli"]
    done = subprocess.run([*argv, "validate", str(bad)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "claims.ttl, line" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_leaves_at_once_with_its_report_and_exit_code(root_copy, tmp_path):
    """Run as a command, validate exits with os._exit once the report is written (the store
    is not freed): the whole report still reaches a pipe and a file, with the exit code."""
    break_copy(root_copy)
    command = Path(sys.executable).with_name("coderef")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "server.cli"]
    done = subprocess.run([*argv, "validate", "--root", str(root_copy), "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["conforms"] is False and len(report["results"]) >= 3
    out = tmp_path / "report.txt"
    with open(out, "w") as sink:
        done = subprocess.run([*argv, "validate"], stdout=sink, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.read_text().rstrip().endswith("conforms")
