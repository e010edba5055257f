"""The W3C SHACL test suite (tests/validate/w3c/, core/* and sparql/*) read and run on one of our engines.

Each test of the manifests names a data graph, a shapes graph and the report expected: a
validation report, or sht:Failure (the shapes must be refused: here a ConfigError, exit 2).
A report is compared on sh:conforms and on the multiset of its results as
(focus node, path, value, constraint component, severity); a blank node is compared by its
structure (its triples, blank nodes below it by theirs), an IRI and a literal as terms.

Engines ("modes"): "default" (`coderef validate`: the fast path, pySHACL for what it does
not translate), "fast-only" (the fast path alone: any fallback is an error) and "pyshacl".

    python tests/validate/w3c_suite.py [--mode default|fast-only|pyshacl]... [-v]

prints the pass counts (and, with -v, each failure).
"""

import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD

ROOT = Path(__file__).resolve().parent / "w3c" / "tests"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = rdflib.Namespace("http://www.w3.org/ns/shacl-test#")
MODES = ("default", "fast-only", "pyshacl")
ENGINE = {"default": "fast", "fast-only": "fast-only", "pyshacl": "pyshacl"}


class SuiteTest:
    """One sht:Validate entry of a manifest."""

    def __init__(self, manifest: Path, graph: rdflib.Graph, node):
        action = graph.value(node, MF.action)
        self.name = str(node).rsplit("/tests/", 1)[-1] if "/tests/" in str(node) else str(node)
        self.node = node
        self.file = manifest
        self.data = _local_file(graph.value(action, SHT.dataGraph))
        self.shapes = _local_file(graph.value(action, SHT.shapesGraph))
        self.graph = graph
        self.result = graph.value(node, MF.result)
        self.failure = self.result == SHT.Failure

    def __repr__(self):
        return self.name

    def expected(self):
        """(conforms, Counter of result tuples) of the manifest's report."""
        g = self.graph
        conforms = g.value(self.result, SH.conforms)
        rows = Counter(_row(g, g, r) for r in g.objects(self.result, SH.result))
        return bool(conforms.toPython()), rows


def _local_file(iri) -> Path:
    text = str(iri)
    assert text.startswith("file://"), f"a test graph outside the suite: {text}"
    return Path(text[len("file://"):])


def load_tests() -> list[SuiteTest]:
    """Every test of tests/manifest.ttl and the manifests it includes, in manifest order."""
    found = []

    def read(manifest: Path):
        g = rdflib.Graph()
        normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
        try:  # the expected values as written ("2011-01-01"^^xsd:dateTime is ill-typed, not midnight)
            g.parse(manifest, format="turtle", publicID=manifest.resolve().as_uri())
        finally:
            rdflib.NORMALIZE_LITERALS = normalize
        top = rdflib.URIRef(manifest.resolve().as_uri())
        for include in g.objects(top, MF.include):
            read(_local_file(include))
        for entries in g.objects(top, MF.entries):
            for node in Collection(g, entries):
                if (node, RDF.type, SHT.Validate) in g:
                    found.append(SuiteTest(manifest, g, node))

    read(ROOT / "manifest.ttl")
    return found


# ------------------------------------------------------------------ comparing terms

def _shape_of(g: rdflib.Graph, node, seen=()) -> str:
    """A text for a term: IRIs and literals as N-Triples, a blank node by its triples."""
    if isinstance(node, rdflib.Literal):
        if node.datatype is None and not node.language:
            node = rdflib.Literal(str(node), datatype=XSD.string)
        return node.n3()
    if not isinstance(node, rdflib.BNode):
        return node.n3() if node is not None else "-"
    if node in seen:
        return "_:cycle"
    inner = sorted(f"{p.n3()} {_shape_of(g, o, (*seen, node))}" for p, o in g.predicate_objects(node))
    return "[" + "; ".join(inner) + "]"


def _row(report_graph, data_graph, r) -> tuple:
    """(focus, path, value, component, severity) of a result node; nodes of the data
    (focus, value) described from `data_graph`, a path from the report graph."""
    g = report_graph
    return (
        _shape_of(data_graph, g.value(r, SH.focusNode)),
        _shape_of(g, g.value(r, SH.resultPath)),
        _shape_of(data_graph, g.value(r, SH.value)),
        _shape_of(g, g.value(r, SH.sourceConstraintComponent)),
        _shape_of(g, g.value(r, SH.resultSeverity)),
    )


# ------------------------------------------------------------------ running

def run(test: SuiteTest, mode: str):
    """(conforms, Counter of result tuples) of our engine, or the exception it raised."""
    from server.rdf.terms import to_rdflib
    from server.validate.engine import validate

    with tempfile.TemporaryDirectory() as root:  # no ontology/ of ours
        keep = []
        report = validate(data_paths=[test.data], shape_paths=[test.shapes], settings={"ROOT": root},
                          engine=ENGINE[mode], keep=keep)
    results = report.shacl_graph()
    if mode == "pyshacl":
        data = keep[0]  # the rdflib graph pySHACL validated: its blank nodes are the report's
    else:
        data = rdflib.Graph()
        for row in keep[0].select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", cap=10**9).rows:
            data.add((to_rdflib(row["s"]), to_rdflib(row["p"]), to_rdflib(row["o"])))
    # the report's own conforms: the specification's (any result), not the exit policy
    rows = Counter(_row(results, data, r) for report_node in results.subjects(RDF.type, SH.ValidationReport)
                   for r in results.objects(report_node, SH.result))
    return report.shacl_conforms, rows, report


def outcome(test: SuiteTest, mode: str) -> tuple[bool, str]:
    """(passed, what differed)."""
    from server.errors import CoderefError

    try:
        got = run(test, mode)
    except CoderefError as err:
        if test.failure:
            return True, ""
        return False, f"refused: {err}"
    except Exception:  # a crash is a failure of the test, reported as such
        return False, "crashed: " + traceback.format_exc(limit=3)
    if test.failure:
        return False, "expected the shapes to be refused (sht:Failure), got a report"
    conforms, rows, report = got
    if mode == "fast-only" and report.fallback:
        return False, f"fell back: {report.fallback}"
    want_conforms, want = test.expected()
    problems = []
    if conforms != want_conforms:
        problems.append(f"conforms {conforms}, expected {want_conforms}")
    missing, extra = want - rows, rows - want
    if missing:
        problems.append(f"missing {sorted(missing.elements())}")
    if extra:
        problems.append(f"unexpected {sorted(extra.elements())}")
    return not problems, "; ".join(problems)


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args
    modes = [args[i + 1] for i, a in enumerate(args) if a == "--mode"] or list(MODES)
    tests = load_tests()
    for mode in modes:
        passed, failures = 0, []
        for n, test in enumerate(tests, 1):
            ok, why = outcome(test, mode)
            passed += ok
            if not ok:
                failures.append((test.name, why))
            sys.stderr.write(f"\r{mode}: {n}/{len(tests)}")
        core = [t for t in tests if t.name.startswith("core/")]
        failed = {name for name, _ in failures}
        core_passed = sum(t.name not in failed for t in core)
        sys.stderr.write("\n")
        print(f"{mode}: {passed}/{len(tests)} passed (core {core_passed}/{len(core)})")
        for name, why in failures:
            print(f"  FAIL {name}" + (f": {why[:2000]}" if verbose else ""))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
