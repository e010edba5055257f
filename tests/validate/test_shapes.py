"""Every shape proven on fixture graphs: tests/shapes/<Shape>/valid-*.ttl conform and each
invalid-*.ttl breaks that shape, with the declared severity and a message naming the code.

A fixture's header is its contract, read here:
- first line: `# conforms: ...` (valid) or `# breaks <Shape>: <the rule it breaks>` (invalid);
- `# names: TEXT`: the message must contain TEXT (the offending code, policy or value);
- `# also: <Shape>`: another shape the same breakage unavoidably reports;
- `# code: NOTATION`: the result is filed under that code (the text report groups by it).
Fixtures are small, self-contained Turtle; validate() adds the ontology to each.
"""

import dataclasses
from pathlib import Path

import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, SKOS

from server import config as cfg
from server.validate.engine import validate

FIXTURES = Path(__file__).resolve().parent.parent / "shapes"
CRSH = "https://w3id.org/coderef/shapes#"
VOCAB = "https://w3id.org/coderef/id/vocab/"


def _shapes_graph() -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in cfg.shape_files(cfg.resolve()):
        graph.parse(path, format="turtle")
    return graph


SHAPES = _shapes_graph()
SHAPE_NAMES = sorted(
    str(s)[len(CRSH):]
    for kind in (SH.NodeShape, SH.PropertyShape)
    for s in SHAPES.subjects(RDF.type, kind)
    if str(s).startswith(CRSH)
)


def _local(iri) -> str:
    return str(iri).rsplit("#", 1)[-1] if iri else ""


def _header(path: Path) -> dict:
    lines = path.read_text().splitlines()
    head = {"first": lines[0] if lines else "", "names": [], "also": [], "code": []}
    for line in lines:
        if not line.startswith("#"):
            break
        for key in ("names", "also", "code"):
            if line.startswith(f"# {key}: "):
                head[key].append(line[len(f"# {key}: "):].strip())
    return head


def _fixtures(prefix: str):
    return [
        pytest.param(path, id=f"{path.parent.name}/{path.stem}")
        for path in sorted(FIXTURES.glob(f"*/{prefix}-*.ttl"))
    ]


def _listing(results) -> str:
    return "\n".join(f"  {_local(r['shape'])} [{r['severity']}] {r['message']}" for r in results) or "  (none)"


@pytest.mark.parametrize("path", _fixtures("valid"))
def test_valid_fixture_conforms(path):
    assert _header(path)["first"].startswith("# conforms: "), f"{path.name}: first line must say what conforms"
    report = validate(data_paths=[path], strict=True)
    assert report.results == [], f"{path.parent.name}/{path.name} should conform, but:\n{_listing(report.results)}"
    assert report.conforms


@pytest.mark.parametrize("path", _fixtures("invalid"))
def test_invalid_fixture_reports_its_shape(path):
    shape = path.parent.name
    head = _header(path)
    assert head["first"].startswith(f"# breaks {shape}: "), f"{path.name}: first line must name the rule it breaks"
    assert head["names"], f"{path.name}: say what the message must name (# names: ...)"

    report = validate(data_paths=[path])
    mine = [r for r in report.results if _local(r["shape"]) == shape]
    assert mine, f"{shape} not reported for {path.name}; got:\n{_listing(report.results)}"

    declared = _local(SHAPES.value(rdflib.URIRef(CRSH + shape), SH.severity))
    assert {r["severity"] for r in mine} == {declared}
    assert report.conforms == (declared != "Violation")
    if declared == "Warning":
        assert not dataclasses.replace(report, strict=True).conforms, "--strict must fail on a warning"

    assert any(all(text in r["message"] for text in head["names"]) for r in mine), (
        f"no {shape} message names {head['names']}:\n{_listing(mine)}")
    for code in head["code"]:
        assert any(r["code"] == code for r in mine), f"no {shape} result filed under {code}:\n{_listing(mine)}"
    others = {_local(r["shape"]) for r in report.results} - {shape} - set(head["also"])
    assert not others, f"{path.name} also breaks {sorted(others)} (fix the fixture or list them with # also:)"


def test_every_shape_has_severity_and_message():
    for name in SHAPE_NAMES:
        shape = rdflib.URIRef(CRSH + name)
        assert SHAPES.value(shape, SH.severity) in (SH.Violation, SH.Warning, SH.Info), name
        messages = list(SHAPES.objects(shape, SH.message))
        messages += [m for c in SHAPES.objects(shape, SH.sparql) for m in SHAPES.objects(c, SH.message)]
        assert messages, f"{name} has no sh:message"


def test_every_shape_has_fixtures():
    """A new shape without fixtures fails here; so does a fixture folder of no shape."""
    assert len(SHAPE_NAMES) >= 40
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    for name in SHAPE_NAMES:
        assert list((FIXTURES / name).glob("valid-*.ttl")), f"{name}: no tests/shapes/{name}/valid-*.ttl"
        assert list((FIXTURES / name).glob("invalid-*.ttl")), f"{name}: no tests/shapes/{name}/invalid-*.ttl"
    assert folders <= set(SHAPE_NAMES), f"fixture folders without a shape: {sorted(folders - set(SHAPE_NAMES))}"


def test_diagnosis_outside_the_code_set_is_a_violation():
    """Issue 2: a typo (E10.6499) or a category (E10.64) as an indication is a violation
    naming that code."""
    for stem, code in (("invalid-typo", "E10.6499"), ("invalid-category", "E10.64")):
        report = validate(data_paths=[FIXTURES / "BillableDiagnosisShape" / f"{stem}.ttl"])
        assert any(r["severity"] == "Violation" and f" {code} " in r["message"] for r in report.results), stem


def test_controlled_lists_match_the_vocabularies(repo_root):
    """An sh:in list of controlled concepts lists exactly the concepts of that scheme."""
    vocab = rdflib.Graph().parse(repo_root / "data" / "vocabularies.ttl", format="turtle")
    checked = 0
    for shape, members in SHAPES.subject_objects(SH["in"]):
        values = {str(v) for v in Collection(SHAPES, members)}
        if not all(v.startswith(VOCAB) for v in values):
            continue
        schemes = {v[len(VOCAB):].split("/", 1)[0] for v in values}
        assert len(schemes) == 1, f"{_local(shape)} mixes lists: {schemes}"
        scheme = rdflib.URIRef(VOCAB + schemes.pop())
        concepts = {str(c) for c in vocab.subjects(SKOS.inScheme, scheme)}
        assert values == concepts, (
            f"{_local(shape)} vs {scheme}: missing from the shape {sorted(concepts - values)}, "
            f"not in the list {sorted(values - concepts)}")
        checked += 1
    assert checked >= 10
