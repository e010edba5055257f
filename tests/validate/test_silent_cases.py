"""Issue 21: no "conforms" for what was not checked, on small graphs of the W3C suite's cases.

Each case is a shapes graph, a data graph and the report the SHACL specification gives
(focus, path, value, constraint component, severity), checked on the fast path; where the
case is within what pySHACL gets right, pySHACL (--engine pyshacl) is held to the same
rows. A case the fast path cannot translate must say so in Report.fallback.
"""

import json
from dataclasses import dataclass, field

import pytest
import rdflib
from rdflib.namespace import RDF, SH

from server.cli import main as coderef
from server.errors import ConfigError
from server.validate.engine import validate

HEAD = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
"""
EX = "http://example.org/"


@dataclass
class Case:
    name: str
    shapes: str
    data: str
    # (focus, path, value, component, severity): local names under ex:, sh:; value as text
    expected: set
    fallback: bool = False  # the fast path must hand (some of) it to pySHACL, and say so
    pyshacl: bool = True  # pySHACL gets this case right: held to the same rows
    why: str = ""
    extra: dict = field(default_factory=dict)


CASES = [
    Case("sparql-component",
         """ex:PrefixComponent a sh:ConstraintComponent ; sh:parameter [ sh:path ex:prefix ] ;
              sh:nodeValidator [ a sh:SPARQLSelectValidator ; sh:message "bad prefix" ;
                sh:select "SELECT $this WHERE { FILTER (!STRSTARTS(STR($this), $prefix)) }" ] .
            ex:S sh:targetNode ex:a, ex:zz ; ex:prefix "http://example.org/z" .""",
         "ex:a ex:q 1 .",
         {("a", None, "a", "ex:PrefixComponent", "Violation")},
         why="a shape with a parameter of a SPARQL-based constraint component: on the fast path (issue 20)"),
    Case("property-in-property-shape",
         """ex:S sh:targetNode ex:a ;
              sh:property [ sh:path ex:knows ; sh:property [ sh:path ex:name ; sh:minCount 1 ] ] .""",
         "ex:a ex:knows ex:b , ex:c . ex:c ex:name \"C\" .",
         {("b", EX + "name", None, "MinCountConstraintComponent", "Violation")},
         why="sh:property of a property shape: on the fast path (issue 20)"),
    Case("derived-integer-datatypes",
         """ex:S sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:p ; sh:datatype xsd:int ] .
            ex:T sh:targetSubjectsOf ex:q ; sh:property [ sh:path ex:q ; sh:datatype xsd:integer ] .
            ex:U sh:targetSubjectsOf ex:r ; sh:property [ sh:path ex:r ; sh:datatype xsd:byte ] .
            ex:V sh:targetSubjectsOf ex:s ; sh:property [ sh:path ex:s ; sh:datatype xsd:dateTimeStamp ] .""",
         """ex:a ex:p "5"^^xsd:int . ex:b ex:p "5"^^xsd:integer .
            ex:c ex:q "5"^^xsd:int . ex:d ex:q "6"^^xsd:integer .
            ex:e ex:r "c"^^xsd:byte . ex:f ex:r "300"^^xsd:byte . ex:g ex:r "12"^^xsd:byte .
            ex:h ex:s "2020-01-01T00:00:00Z"^^xsd:dateTimeStamp . ex:i ex:s "2020-01-01T00:00:00Z"^^xsd:dateTime .""",
         {("b", EX + "p", "5", "DatatypeConstraintComponent", "Violation"),
          ("c", EX + "q", "5", "DatatypeConstraintComponent", "Violation"),
          ("e", EX + "r", "c", "DatatypeConstraintComponent", "Violation"),
          ("f", EX + "r", "300", "DatatypeConstraintComponent", "Violation"),
          ("i", EX + "s", "2020-01-01T00:00:00Z", "DatatypeConstraintComponent", "Violation")},
         why="literals whose datatype the store does not keep as written: loaded as written (issue 20)"),
    Case("ill-formed-literals",
         """ex:S sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:p ; sh:datatype xsd:gYear ] .
            ex:T sh:targetSubjectsOf ex:q ; sh:property [ sh:path ex:q ; sh:datatype xsd:hexBinary ] .
            ex:U sh:targetSubjectsOf ex:r ; sh:property [ sh:path ex:r ; sh:datatype xsd:language ] .""",
         """ex:a ex:p "20x6"^^xsd:gYear . ex:b ex:p "2016"^^xsd:gYear .
            ex:c ex:q "0g"^^xsd:hexBinary . ex:d ex:q "0A1f"^^xsd:hexBinary .
            ex:e ex:r "not a tag"^^xsd:language . ex:f ex:r "en-US"^^xsd:language .""",
         {("a", EX + "p", "20x6", "DatatypeConstraintComponent", "Violation"),
          ("c", EX + "q", "0g", "DatatypeConstraintComponent", "Violation"),
          ("e", EX + "r", "not a tag", "DatatypeConstraintComponent", "Violation")},
         pyshacl=False, why="pySHACL checks the lexical form only of the types rdflib converts"),
    Case("in-literal-term-equality",
         """ex:S sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:p ; sh:in ( "1.0"^^xsd:decimal ) ] .""",
         """ex:a ex:p "1.00"^^xsd:decimal . ex:b ex:p "1.0"^^xsd:decimal .""",
         {("a", EX + "p", "1.00", "InConstraintComponent", "Violation")}, fallback=True,
         why="sh:in of typed literals: term equality on the form as written"),
    Case("deactivated-node-shape",
         """ex:D sh:targetNode ex:a ; sh:deactivated true ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .""",
         "ex:a ex:q 1 .", set()),
    Case("min-count-zero",
         """ex:S sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:minCount 0 ] .""",
         "ex:a ex:q 1 .", set()),
    Case("sparql-this-in-inner-group",
         """ex:S sh:targetNode ex:a, ex:b ; sh:sparql [ sh:message "is a" ;
              sh:select "SELECT $this WHERE { { FILTER (sameTerm($this, <http://example.org/a>)) } }" ] .""",
         "ex:a ex:p 1 .",
         {("a", None, "a", "SPARQLConstraintComponent", "Violation")},
         why="$this in an expression of an inner group: the target joined there too"),
    Case("sparql-this-in-inner-bind",
         """ex:S sh:targetNode ex:a, ex:b ; sh:sparql [ sh:message "has p" ;
              sh:select "SELECT $this ?v WHERE { ?x <http://example.org/p> ?v . { BIND ($this AS ?x) } }" ] .""",
         "ex:a ex:p 1 .",
         {("a", None, "a", "SPARQLConstraintComponent", "Violation")}, pyshacl=False,
         why="$this in a BIND of an inner group: pySHACL leaves it unbound there"),
    Case("fallback-keeps-not-of-compiled-shape",
         """ex:Compiled sh:targetNode ex:x ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .
            ex:Fallback sh:targetNode ex:a ; sh:not ex:Compiled ; sh:sparql [ sh:message "many" ;
              sh:select "SELECT $this WHERE { $this ?p ?o } GROUP BY $this HAVING (COUNT(?o) > 5)" ] .""",
         "ex:a ex:q 1 . ex:x ex:q 1 .",
         {("x", EX + "p", None, "MinCountConstraintComponent", "Violation")}, fallback=True,
         why="sh:not pointing at a compiled shape, in a shape pySHACL checks"),
    Case("node-details-are-not-results",
         """ex:S sh:targetNode ex:a ; sh:node ex:T . ex:T sh:property [ sh:path ex:p ; sh:minCount 1 ] .""",
         "ex:a ex:q 1 .",
         {("a", None, "a", "NodeConstraintComponent", "Violation")}),
    Case("warnings-only",
         """ex:S sh:targetNode ex:a ; sh:severity sh:Warning ; sh:property [ sh:path ex:p ; sh:minCount 1 ;
              sh:severity sh:Warning ] .""",
         "ex:a ex:q 1 .",
         {("a", EX + "p", None, "MinCountConstraintComponent", "Warning")}),
    Case("complex-result-path",
         """ex:S sh:targetNode ex:a ; sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:minCount 1 ] .""",
         "ex:a ex:q 1 .",
         {("a", "^" + EX + "p", None, "MinCountConstraintComponent", "Violation")}),
    Case("default-messages",
         """ex:S sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:p ; sh:datatype xsd:integer ; sh:maxCount 1 ] .""",
         """ex:a ex:p "x" , 2 .""",
         {("a", EX + "p", "x", "DatatypeConstraintComponent", "Violation"),
          ("a", EX + "p", None, "MaxCountConstraintComponent", "Violation")}),
]


def _local(term) -> str:
    text = str(term)
    if text.startswith(str(SH)):
        return text[len(str(SH)):]
    return "ex:" + text[len(EX):] if text.startswith(EX) else text


def _rows(report) -> set:
    def short(node):
        return node[len(EX):] if node and node.startswith(EX) else node
    return {(short(r["focus"]), r["path"], short(r["value"]), _local(r["component"]), r["severity"])
            for r in report.results}


def _files(case, tmp_path):
    shapes, data = tmp_path / "shapes.ttl", tmp_path / "data.ttl"
    shapes.write_text(HEAD + case.shapes + "\n")
    data.write_text(HEAD + case.data + "\n")
    return data, shapes


# cases failing before issue 21's fixes; emptied as they are fixed
OPEN = set()


def _params():
    return [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason="issue 21")] if c.name in OPEN else [])
            for c in CASES]


@pytest.mark.parametrize("case", _params())
def test_case_reports_what_the_spec_says(case, tmp_path):
    data, shapes = _files(case, tmp_path)
    fast = validate(data_paths=[data], shape_paths=[shapes])
    assert _rows(fast) == case.expected
    assert bool(fast.fallback) == case.fallback, fast.fallback
    # the report's sh:conforms is the specification's: any result at all, whatever its severity
    graph = rdflib.Graph().parse(data=fast.to_turtle(), format="turtle")
    [report] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(report, SH.conforms).toPython() is (not case.expected)
    results = list(graph.objects(report, SH.result))
    assert len(results) == len(case.expected)
    for r in results:
        assert graph.value(r, SH.sourceConstraintComponent) is not None
        assert list(graph.objects(r, SH.resultMessage)), "every result has a message"
    assert all(r["message"] and "breaks" not in r["message"] for r in fast.results)
    if case.pyshacl:
        reference = validate(data_paths=[data], shape_paths=[shapes], engine="pyshacl")
        assert _rows(reference) == case.expected


def test_exit_policy_beside_the_reports_conforms(tmp_path, capsys):
    """Warnings alone: exit 0 and JSON `conforms` true (the exit policy callers rely on), but
    `shacl_conforms`, the report's sh:conforms, is false."""
    case = next(c for c in CASES if c.name == "warnings-only")
    data, shapes = _files(case, tmp_path)
    code = coderef(["validate", str(data), "--shapes", str(shapes), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["conforms"] is True and out["shacl_conforms"] is False
    assert coderef(["validate", str(data), "--shapes", str(shapes), "--strict"]) == 1


def test_complex_result_path_in_turtle(tmp_path):
    case = next(c for c in CASES if c.name == "complex-result-path")
    data, shapes = _files(case, tmp_path)
    for engine in ("fast", "pyshacl"):
        graph = rdflib.Graph().parse(data=validate(data_paths=[data], shape_paths=[shapes], engine=engine).to_turtle(),
                                     format="turtle")
        [path] = graph.objects(None, SH.resultPath)
        assert graph.value(path, SH.inversePath) == rdflib.URIRef(EX + "p"), engine


def test_default_messages_on_the_fast_path(tmp_path):
    case = next(c for c in CASES if c.name == "default-messages")
    data, shapes = _files(case, tmp_path)
    report = validate(data_paths=[data], shape_paths=[shapes])
    messages = {r["component"].rsplit("#", 1)[-1]: r["message"] for r in report.results}
    assert "xsd:integer" in messages["DatatypeConstraintComponent"]
    assert "More than 1 values" in messages["MaxCountConstraintComponent"]


@pytest.mark.parametrize("engine", ["fast", "pyshacl"])
def test_values_in_a_sparql_constraint_is_an_error_of_the_shape(tmp_path, engine, capsys):
    """The specification forbids VALUES in a SHACL-SPARQL query: exit 2 naming the file."""
    shapes, data = tmp_path / "values.ttl", tmp_path / "data.ttl"
    shapes.write_text(HEAD + 'ex:S sh:targetNode ex:a ; sh:sparql [ sh:message "m" ; sh:select '
                      '"SELECT $this WHERE { VALUES ?x { 1 } $this <http://example.org/p> ?x }" ] .\n')
    data.write_text(HEAD + "ex:a ex:p 1 .\n")
    with pytest.raises(ConfigError, match="VALUES"):
        validate(data_paths=[data], shape_paths=[shapes], engine=engine)
    assert coderef(["validate", str(data), "--engine", engine, "--shapes", str(shapes)]) == 2
    err = capsys.readouterr().err
    assert "values.ttl" in err and "Traceback" not in err


@pytest.mark.parametrize("engine", ["fast",
                                    "pyshacl"])
def test_prefixes_declared_only_in_an_import_are_named(tmp_path, engine, capsys):
    """sh:prefixes pointing at an ontology that only owl:imports would bring in: exit 2, the
    file and the missing prefix named, no traceback."""
    shapes, data = tmp_path / "imports.ttl", tmp_path / "data.ttl"
    shapes.write_text(HEAD + "<http://example.org/shapes> owl:imports <http://example.org/elsewhere> .\n"
                      'ex:S sh:targetNode ex:a ; sh:sparql [ sh:message "m" ; sh:prefixes <http://example.org/elsewhere> ; '
                      'sh:select "SELECT $this WHERE { $this other:p ?x }" ] .\n')
    data.write_text(HEAD + "ex:a ex:p 1 .\n")
    assert coderef(["validate", str(data), "--engine", engine, "--shapes", str(shapes)]) == 2
    err = capsys.readouterr().err
    assert "imports.ttl" in err and "other:" in err and "Traceback" not in err


@pytest.mark.parametrize("text", [
    '<http://example.org/a> <http://example.org/p> "5"^^<http://www.w3.org/2001/XMLSchema#int> .',
    '@prefix x: <http://www.w3.org/2001/XMLSchema#> . <http://example.org/a> <http://example.org/p> "5"^^x:unsignedByte;'
    ' <http://example.org/q> 1 .',
])
def test_retyped_literals_found_however_written(tmp_path, text):
    from server.validate.lexical import load_store

    def retyped(path):
        store, found = load_store([path])
        assert len(store) == text.count("<http://example.org/a>") + text.count(";")
        return found

    path = tmp_path / "data.ttl"
    path.write_text(text + "\n")
    assert retyped(path)
    path.write_text(text.replace("#int>", "#integer>").replace("x:unsignedByte", "x:integer") + "\n")
    assert not retyped(path)


def test_conformance_gate_reads_retyped_literals_as_written(tmp_path):
    """The gate validates a store it did not load: "5"^^xsd:int is an xsd:integer there.
    Given the files, it checks them as written (pySHACL), so valid data passes and a
    "300"^^xsd:byte is refused, naming the shape."""
    from server.errors import NotConforming
    from server.rdf.parsing import load_store
    from server.validate.conformance import check_conformance

    shapes = tmp_path / "int.shapes.ttl"
    shapes.write_text(HEAD + "ex:S sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:p ; sh:datatype xsd:int ] .\n")
    data = tmp_path / "data.ttl"
    data.write_text(HEAD + 'ex:a ex:p "5"^^xsd:int .\n')
    check_conformance(load_store([data]), [shapes], [data])
    data.write_text(HEAD + 'ex:a ex:p "5"^^xsd:int . ex:b ex:p "300"^^xsd:byte .\n')
    with pytest.raises(NotConforming, match="example.org/b"):
        check_conformance(load_store([data]), [shapes], [data])
