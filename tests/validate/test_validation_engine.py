"""The fast validation path (shapes compiled to SPARQL) gives pySHACL's results.

Differential, as a multiset of (severity, focus, path, value, shape, message), on the
shipped data, on every shape fixture under tests/shapes/, on the shipped data with
violations injected for every rule, on a synthetic graph of benchmarks/generate.py with its
injected violations, and on payer positions built to exercise every branch of
PositionConflictShape; then the same compiled queries over a real Oxigraph server, and the
engine's own guarantees (fallback, progress, CLI, rules checked in forked processes).
"""

import json
import re
import shutil
import sys
import zlib
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import SH

from server import config as cfg
from server.errors import ConfigError
from server.cli import main as coderef
from server.rdf.parsing import load_store
from server.sparql.dataset import query as union_query
from server.validate.checks import to_sparql
from server.validate.shapes import compile_shapes, top_level_shapes
from server.rdf.parsing import load_graph
from server.validate.engine import report_for, validate

TESTS = Path(__file__).resolve().parent.parent
CR = "https://w3id.org/coderef/ontology#"
ID = "https://w3id.org/coderef/id/"
PREFIXES = (
    f"PREFIX cr: <{CR}>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "PREFIX dct: <http://purl.org/dc/terms/>\n"
)


def rows(report) -> Counter:
    return Counter(
        (r["severity"], r["focus"], r["path"], r["value"], r["shape"], r["message"]) for r in report.results
    )


def assert_same(fast, reference):
    a, b = rows(fast), rows(reference)
    missing, extra = b - a, a - b
    assert not missing and not extra, (
        f"fast path missed {len(missing)}: {sorted(missing)[:5]}\n"
        f"fast path added {len(extra)}: {sorted(extra)[:5]}"
    )
    assert fast.conforms == reference.conforms


# ------------------------------------------------------------------ violations, injected

def _pick(store, where: str, salt: str):
    """One node matching `where` (binding ?x), chosen by the rule's name so that rules do
    not all break the same node."""
    found = sorted(r["x"] for r in union_query(store, PREFIXES + f"SELECT DISTINCT ?x WHERE {{ {where} }}"))
    found = [x for x in found if isinstance(x, ox.NamedNode)]
    return found[zlib.crc32(salt.encode()) % len(found)] if found else None


def _targets(shapes, shape) -> str:
    parts = [f"{{ ?x a/rdfs:subClassOf* {to_sparql(c)} }}" for c in shapes.objects(shape, SH.targetClass)]
    parts += [f"{{ ?x {to_sparql(p)} ?any }}" for p in shapes.objects(shape, SH.targetSubjectsOf)]
    return " UNION ".join(parts)


def _predicate(shapes, path):
    if isinstance(path, rdflib.URIRef):
        return path
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        return next(iter(rdflib.collection.Collection(shapes, alternatives)))
    return None


def inject_core(store, shapes) -> list:
    """Break one focus node of every property shape, by the first constraint that can be
    broken generically: read from the shapes, so new rules are covered as they come."""
    broken = []
    for shape in top_level_shapes(shapes):
        path = shapes.value(shape, SH.path)
        targets = _targets(shapes, shape)
        p = _predicate(shapes, path) if path is not None else None
        if p is None or not targets:
            continue
        x = _pick(store, targets, str(shape))
        if x is None:
            continue
        P = ox.NamedNode(str(p))
        old = [q.object for q in store.quads_for_pattern(x, P, None)]
        bad = None
        if shapes.value(shape, SH.minCount) is not None:
            bad = []
        elif shapes.value(shape, SH.datatype) is not None:
            bad = [ox.Literal("not a typed value", language="en")]
        elif shapes.value(shape, SH["in"]) is not None:
            bad = [ox.NamedNode(ID + "vocab/not-listed/value")]
        elif shapes.value(shape, SH.pattern) is not None:
            bad = [ox.Literal("does not match !")]
        elif shapes.value(shape, SH.nodeKind) is not None:
            bad = [ox.Literal("a literal")]
        elif shapes.value(shape, SH["class"]) is not None:
            bad = [ox.NamedNode(ID + "typo/undescribed")]
        elif shapes.value(shape, SH.maxCount) is not None:
            bad = [*old, ox.Literal("one value too many")]
        if bad is None:
            continue
        for o in old:
            store.remove(ox.Quad(x, P, o))
        for o in bad:
            store.add(ox.Quad(x, P, o))
        broken.append(shape)
    return broken


# Rules across nodes: each update breaks one thing a consistency rule looks for. They are
# written against the model, not against rule names, and may fire several rules.
CROSS_NODE_UPDATES = [
    # a code bundling itself
    "INSERT { ?b cr:reportedAloneBy ?c } WHERE { SELECT ?c ?b WHERE { ?c <%sbundledService> ?b } ORDER BY ?b LIMIT 1 }" % CR,
    # a bundling cycle between two codes
    "INSERT { ?b1 cr:reportedAloneBy ?c2 . ?b2 cr:reportedAloneBy ?c1 } WHERE { SELECT ?c1 ?b1 ?c2 ?b2 WHERE {"
    " ?c1 <%sbundledService> ?b1 . ?c2 <%sbundledService> ?b2 FILTER (STR(?c1) < STR(?c2)) } ORDER BY ?b1 ?b2 LIMIT 1 }" % (CR, CR),
    # an end date before the start
    "INSERT { ?p cr:endDate \"1900-01-01\"^^xsd:date } WHERE { SELECT ?p WHERE { ?p a cr:CoveragePolicy ; cr:effectiveDate ?d }"
    " ORDER BY ?p LIMIT 1 }",
    # an indication whose diagnosis is a typo, and one whose diagnosis is a category
    "DELETE { ?i cr:diagnosis ?d } INSERT { ?i cr:diagnosis <%sicd10cm/typo> } WHERE { SELECT ?i ?d WHERE"
    " { ?i a cr:Indication ; cr:diagnosis ?d } ORDER BY ?i LIMIT 1 }" % ID,
    "DELETE { ?d cr:billable true } INSERT { ?d cr:billable false } WHERE { SELECT ?d WHERE"
    " { ?i a cr:Indication ; cr:diagnosis ?d } ORDER BY DESC(?i) LIMIT 1 }",
    # a modifier usage without guidance
    "DELETE { ?u cr:whenToUse ?w } WHERE { SELECT ?u ?w WHERE { ?u a cr:ModifierUsage ; cr:whenToUse ?w } ORDER BY ?u LIMIT 1 }",
    # a payer whose slug does not match its IRI
    "DELETE { ?p cr:payerSlug ?s } INSERT { ?p cr:payerSlug \"renamed\" } WHERE { SELECT ?p ?s WHERE"
    " { ?p a cr:Payer ; cr:payerSlug ?s } ORDER BY ?p LIMIT 1 }",
    # two workflow steps with one order
    "DELETE { ?b cr:stepOrder ?nb } INSERT { ?b cr:stepOrder ?na } WHERE { SELECT ?b ?nb ?na WHERE"
    " { ?s cr:step ?a , ?b . ?a cr:stepOrder ?na . ?b cr:stepOrder ?nb FILTER (?na + 1 = ?nb) } ORDER BY ?b LIMIT 1 }",
    # a benchmark whose amount lost its currency and year, another that promises an amount
    "DELETE { ?b cr:currency ?c . ?b cr:year ?y } WHERE { SELECT ?b ?c ?y WHERE { ?b cr:amount ?a ; cr:currency ?c ;"
    " cr:year ?y } ORDER BY ?b LIMIT 1 }",
    "DELETE { ?b cr:pricingStatus ?s } INSERT { ?b cr:pricingStatus <%svocab/pricing-status/priced> } WHERE { SELECT ?b ?s"
    " WHERE { ?b a cr:ReimbursementBenchmark ; cr:pricingStatus ?s FILTER NOT EXISTS { ?b cr:amount ?a } } ORDER BY ?b LIMIT 1 }" % ID,
    # a code whose notation no longer matches its IRI and pattern, a modifier's too
    "DELETE { ?c skos:notation ?n } INSERT { ?c skos:notation ?m } WHERE { SELECT ?c ?n (CONCAT(?n, \"X\") AS ?m) WHERE"
    " { ?c a cr:ProcedureCode ; skos:notation ?n } ORDER BY ?c LIMIT 1 }",
    "DELETE { ?c skos:notation ?n } INSERT { ?c skos:notation \"9\" } WHERE { SELECT ?c ?n WHERE"
    " { ?c a cr:Modifier ; skos:notation ?n } ORDER BY ?c LIMIT 1 }",
    # a dangling link and a link to a node of the wrong class
    "INSERT { ?p cr:appliesTo <%scpt/typo> } WHERE { SELECT ?p WHERE { ?p a cr:CoveragePosition } ORDER BY ?p LIMIT 1 }" % ID,
    "INSERT { ?p cr:payer ?c } WHERE { SELECT ?p ?c WHERE { ?p a cr:CoveragePosition ; cr:appliesTo ?c } ORDER BY DESC(?p) LIMIT 1 }",
    # two positions of one payer on one code with different statuses
    "INSERT { <%sposition/injected-copy> ?pp ?o . <%sposition/injected-copy> cr:coverageStatus ?other ."
    " ?policy cr:position <%sposition/injected-copy> } WHERE { { SELECT ?p ?other WHERE { ?p a cr:CoveragePosition ;"
    " cr:payer ?payer ; cr:coverageStatus ?s . ?q cr:coverageStatus ?other FILTER (?other != ?s && ?other !="
    " <%svocab/coverage-status/position-not-retrieved> && ?s != <%svocab/coverage-status/position-not-retrieved>) }"
    " ORDER BY ?p ?other LIMIT 1 } ?p ?pp ?o FILTER (?pp != cr:coverageStatus) OPTIONAL { ?policy cr:position ?p } }"
    % (ID, ID, ID, ID, ID),
    # a Category III code past its sunset with no successor
    "DELETE { ?c cr:sunsetDate ?d . ?c cr:replacedBy ?r . ?c cr:codeStatus ?st } INSERT { ?c cr:sunsetDate \"2001-01-01\"^^xsd:date ."
    " ?c cr:codeStatus <%svocab/code-status/active> } WHERE { SELECT ?c ?d ?r ?st WHERE { ?c cr:codeSystem"
    " <%sscheme/cpt-category-iii> OPTIONAL { ?c cr:sunsetDate ?d } OPTIONAL { ?c cr:replacedBy ?r }"
    " OPTIONAL { ?c cr:codeStatus ?st } } ORDER BY ?c LIMIT 1 }" % (ID, ID),
    # labels: a second English label, a label in another language; inScheme unlike codeSystem
    "INSERT { ?c skos:prefLabel \"second label\"@en } WHERE { SELECT ?c WHERE { ?c a cr:ProcedureCode } ORDER BY DESC(?c) LIMIT 1 }",
    "DELETE { ?c skos:prefLabel ?l } INSERT { ?c skos:prefLabel \"libelle\"@fr } WHERE { SELECT ?c ?l WHERE"
    " { ?c a cr:DiagnosisCode ; skos:prefLabel ?l } ORDER BY ?c LIMIT 1 }",
    "DELETE { ?c skos:inScheme ?s } INSERT { ?c skos:inScheme <%sscheme/pos> } WHERE { SELECT ?c ?s WHERE"
    " { ?c a cr:Modifier ; skos:inScheme ?s } ORDER BY DESC(?c) LIMIT 1 }" % ID,
    # a site of service naming both a POS code and a setting; an ill-typed date; a bad source date
    "INSERT { ?s cr:setting ?t } WHERE { SELECT ?s ?t WHERE { ?s cr:placeOfService ?p . ?x a cr:Setting BIND (?x AS ?t) }"
    " ORDER BY ?s ?t LIMIT 1 }",
    "DELETE { ?p cr:lastReviewed ?d } INSERT { ?p cr:lastReviewed \"2024-02-30\"^^xsd:date } WHERE { SELECT ?p ?d WHERE"
    " { ?p cr:lastReviewed ?d } ORDER BY DESC(?p) LIMIT 1 }",
    "DELETE { ?s dct:date ?d } INSERT { ?s dct:date \"spring\" } WHERE { SELECT ?s ?d WHERE { ?s a cr:Source ; dct:date ?d }"
    " ORDER BY ?s LIMIT 1 }",
    # a step order of zero, a negative amount
    "DELETE { ?s cr:stepOrder ?n } INSERT { ?s cr:stepOrder 0 } WHERE { SELECT ?s ?n WHERE { ?s cr:stepOrder ?n }"
    " ORDER BY DESC(?s) LIMIT 1 }",
]


# pySHACL takes minutes on the two largest policy files together with the rest (rdflib
# evaluates PositionConflictShape's OPTIONALs per focus node): the injected graph leaves
# them out, and each file is compared on its own below.
HEAVY = ("policies-bcbs.ttl", "policies-commercial.ttl")


def broken_graph(path: Path, settings, files=None) -> int:
    """The shipped data (or `files`) with violations injected, written as Turtle; how many
    rules were broken generically."""
    files = cfg.data_files(settings) if files is None else files
    store = ox.Store()  # the files' graphs merged into the default graph, to edit and dump
    store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in load_store(files))
    shapes = load_graph(cfg.shape_files(settings))
    broken = inject_core(store, shapes)
    for update in CROSS_NODE_UPDATES:
        store.update(PREFIXES + update)
    store.dump(str(path), ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph())
    return len(broken)


# ------------------------------------------------------------------ differential

@pytest.fixture(scope="module")
def settings():
    return cfg.resolve()


@pytest.fixture(scope="module")
def shipped(settings):
    """The fast report of the whole shipped reference (pySHACL's takes minutes: see
    benchmarks/validation.py, which compares them)."""
    return validate(settings=settings)


DATA_FILES = sorted((cfg.folder(cfg.resolve(), "DATA_DIR")).glob("*.ttl"))


@pytest.mark.parametrize("data", DATA_FILES, ids=[f.name for f in DATA_FILES])
def test_shipped_file_same_as_pyshacl(data, settings):
    """Each data file with the ontology: alone, its links dangle, so every file gives the
    rules plenty to report."""
    reference = validate([data], settings=settings, engine="pyshacl")
    fast = validate([data], settings=settings)
    assert fast.engine == "fast" and reference.engine == "pyshacl"
    assert fast.fallback == {}, "every shipped rule translates to SPARQL"
    assert_same(fast, reference)


def test_injected_violations_same_as_pyshacl(tmp_path, settings):
    data = tmp_path / "broken.ttl"
    light = [f for f in cfg.data_files(settings) if f.name not in HEAVY]
    generic = broken_graph(data, settings, light)
    assert generic >= 30, "the injector broke most property rules"
    reference = validate([data], settings=settings, engine="pyshacl")
    fast = validate([data], settings=settings)
    assert_same(fast, reference)
    fired = {r["shape"] for r in reference.results}
    # the reference found what was injected, so the comparison is not between two empties
    assert len(fired) >= generic + 10, sorted(fired)
    assert not reference.conforms


FIXTURE_DIRS = sorted({p.parent for p in (TESTS / "shapes").glob("**/*.ttl")})


@pytest.mark.parametrize("folder", FIXTURE_DIRS, ids=[d.name for d in FIXTURE_DIRS])
def test_shape_fixtures_same_as_pyshacl(folder, settings, tmp_path):
    """The fixture graphs of one rule (whatever tests/shapes/ holds when the test runs),
    merged into one graph with the ontology: one pySHACL run per rule instead of one per
    file, and the fixtures' nodes meet each other, which only adds cases."""
    quads = []
    for fixture in sorted(folder.glob("*.ttl")):
        quads += ox.parse(path=str(fixture))
    merged = tmp_path / "fixtures.nt"
    merged.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_TRIPLES))
    reference = validate([merged], settings=settings, engine="pyshacl")
    fast = validate([merged], settings=settings)
    assert_same(fast, reference)


def test_generated_graph_same_as_pyshacl(tmp_path, settings, repo_root):
    """A synthetic coding graph as the benchmarks generate it (code families, bundles,
    indications, payers' policies in dated versions), with one violation of every kind the
    generator injects, beside the shipped files it links to (pySHACL's time grows with the
    square of the graph: a small one)."""
    sys.path.insert(0, str(repo_root / "benchmarks"))
    from generate import INJECTED, write

    summary = write(600, tmp_path / "synthetic.ttl", violations=1)
    assert set(summary["injected"]) == set(INJECTED)
    data_dir = cfg.folder(settings, "DATA_DIR")
    linked = [data_dir / f"{name}.ttl" for name in ("vocabularies", "code-systems", "modifiers", "places-of-service")]
    data = [tmp_path / "synthetic.ttl", *linked]
    reference = validate(data, settings=settings, engine="pyshacl")
    fast = validate(data, settings=settings)
    assert_same(fast, reference)
    fired = {r["shape"].rsplit("#", 1)[-1] for r in reference.results}
    assert set(INJECTED.values()) <= fired, sorted(fired)


# Payer positions for PositionConflictShape, which joins the other position on code and
# payer: payers from a position's own cr:payer or from its policy's issuer, a position in
# two policies of two payers, one with a payer of its own and a policy of another, one with
# no payer at all (it is compared with the positions of named payers, as the shape always
# did), two payers on one position, dates from the policy, month-only dates, contexts.
POSITIONS = """
@prefix cr:    <https://w3id.org/coderef/ontology#> .
@prefix xsd:   <http://www.w3.org/2001/XMLSchema#> .
@prefix dct:   <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix id:    <https://w3id.org/coderef/id/statement/edge/> .
@prefix payer: <https://w3id.org/coderef/id/payer/> .
@prefix policy: <https://w3id.org/coderef/id/policy/> .
@prefix cpt:   <https://w3id.org/coderef/id/cpt/> .
@prefix cov:   <https://w3id.org/coderef/id/vocab/coverage-status/> .
@prefix ctx:   <https://w3id.org/coderef/id/vocab/clinical-context/> .

payer:edge-a a cr:Payer ; schema:name "Edge A" .
payer:edge-b a cr:Payer .
policy:edge-a-one a cr:CoveragePolicy ; cr:issuedBy payer:edge-a ; cr:policyIdentifier "A-1" ;
    cr:effectiveDate "2020-01-01"^^xsd:date ; cr:endDate "2021-12-31"^^xsd:date ; cr:position id:x1 , id:x2 , id:x3 , id:x5 .
policy:edge-a-two a cr:CoveragePolicy ; cr:issuedBy payer:edge-a ; dct:title "A two" ;
    cr:effectiveDate "2021-06"^^xsd:gYearMonth ; cr:position id:x7 , id:x8 .
policy:edge-b-one a cr:CoveragePolicy ; cr:issuedBy payer:edge-b ; cr:position id:x5 , id:x4 .
policy:edge-untitled a cr:CoveragePolicy ; cr:position id:x9 .
id:x1 a cr:CoveragePosition ; cr:appliesTo cpt:0584T , cpt:0585T ; cr:coverageStatus cov:covered .
id:x2 a cr:CoveragePosition ; cr:appliesTo cpt:0584T ; cr:coverageStatus cov:not-covered ; cr:effectiveDate "2021-01-01"^^xsd:date .
id:x3 a cr:CoveragePosition ; cr:payer payer:edge-b ; cr:appliesTo cpt:0584T ; cr:coverageStatus cov:investigational .
id:x4 a cr:CoveragePosition ; cr:payer payer:edge-b ; cr:appliesTo cpt:0584T ; cr:coverageStatus cov:covered ; cr:clinicalContext ctx:any .
id:x5 a cr:CoveragePosition ; cr:appliesTo cpt:0584T , cpt:0585T ; cr:coverageStatus cov:clinical-trial-only .
id:x6 a cr:CoveragePosition ; cr:appliesTo cpt:0584T ; cr:coverageStatus cov:not-covered .
id:x7 a cr:CoveragePosition ; cr:appliesTo cpt:0585T ; cr:coverageStatus cov:investigational ;
    cr:clinicalContext ctx:allogeneic ; cr:endDate "2022-03"^^xsd:gYearMonth .
id:x8 a cr:CoveragePosition ; cr:appliesTo cpt:0585T ; cr:coverageStatus cov:covered ;
    cr:clinicalContext ctx:allogeneic ; cr:effectiveDate "2022-03-15"^^xsd:date .
id:x9 a cr:CoveragePosition ; cr:payer payer:edge-a , payer:edge-b ; cr:appliesTo cpt:0585T ; cr:coverageStatus cov:position-not-retrieved .
id:x10 a cr:CoveragePosition ; cr:payer payer:edge-a , payer:edge-b ; cr:appliesTo cpt:0585T , cpt:typo ; cr:coverageStatus cov:not-covered .
id:x11 a cr:CoveragePosition ; cr:appliesTo cpt:0584T ; cr:coverageStatus cov:covered .
"""


def test_position_conflicts_same_as_pyshacl(tmp_path, settings):
    data = tmp_path / "positions.ttl"
    data.write_text(POSITIONS)
    codes = cfg.folder(settings, "DATA_DIR") / "cpt-0584T.ttl"
    reference = validate([data, codes], settings=settings, engine="pyshacl")
    fast = validate([data, codes], settings=settings)
    assert_same(fast, reference)
    conflicts = {(r["focus"].rsplit("/", 1)[-1], r["message"].split(":")[0])
                 for r in fast.results if r["shape"].endswith("#PositionConflictShape")}
    # each way of finding the payer met a conflict: own payer (x3-x4), the policy's issuer
    # (x1-x2), policies of two payers (x5, with both), none (x6, against named Edge A only)
    assert {("x3", "0584T"), ("x4", "0584T"), ("x1", "0584T"), ("x2", "0584T"), ("x5", "0584T"), ("x6", "0584T")} <= conflicts
    about = {(r["focus"].rsplit("/", 1)[-1], payer) for r in fast.results for payer in ("Edge A", "edge-b")
             if r["shape"].endswith("#PositionConflictShape") and payer in r["message"]}
    assert {("x5", "Edge A"), ("x5", "edge-b"), ("x6", "Edge A")} <= about and ("x6", "edge-b") not in about
    # two positions without a payer are not positions of one payer: x6 and x11 never meet
    pairs = {(r["focus"].rsplit("/", 1)[-1], re.search(r" but [\w-]+ in (.*?)\. Give ", r["message"])[1].rsplit("/", 1)[-1])
             for r in fast.results if r["shape"].endswith("#PositionConflictShape")}
    assert ("x11", "A-1") in pairs and not {("x6", "x11"), ("x11", "x6")} & pairs, sorted(pairs)


def random_positions(rng, ns: str, positions: int) -> str:
    """Payer positions in namespace `ns` drawn to meet PositionConflictShape's branches in
    combinations no hand-written fixture lists: own payers (one or two), policies (none, one,
    two, with or without issuer, dates, identifier, titles), payers with and without a name,
    codes with and without a notation, one or two codes and statuses, position-not-retrieved,
    no context, ctx:any or another, full and month-only dates, a position typed or not."""
    cov = "https://w3id.org/coderef/id/vocab/coverage-status/"
    ctx = "https://w3id.org/coderef/id/vocab/clinical-context/"
    lines = []
    payers = [f"<{ns}payer{i}>" for i in range(3)]
    codes = [f"<{ns}code{i}>" for i in range(3)]
    policies = [f"<{ns}policy{i}>" for i in range(4)]
    for i, payer in enumerate(payers):
        if rng.random() < 0.7:
            lines.append(f'{payer} schema:name "Payer {i}" .')
    for i, code in enumerate(codes):
        if rng.random() < 0.7:
            lines.append(f'{code} skos:notation "C{i}" .')

    def date():
        year, month = rng.choice((2019, 2020, 2021)), rng.randint(1, 12)
        if rng.random() < 0.5:
            return f'"{year}-{month:02d}-{rng.randint(1, 28):02d}"^^xsd:date'
        return f'"{year}-{month:02d}"^^xsd:gYearMonth'

    for i, policy in enumerate(policies):
        for chance, triple in ((0.85, lambda: f"cr:issuedBy {rng.choice(payers)}"), (0.5, lambda: f"cr:effectiveDate {date()}"),
                               (0.3, lambda: f"cr:endDate {date()}"), (0.6, lambda: f'cr:policyIdentifier "ID-{i}"'),
                               (0.5, lambda: f'dct:title "Title {i}"'), (0.1, lambda: f'dct:title "Title {i} bis"')):
            if rng.random() < chance:
                lines.append(f"{policy} {triple()} .")
    statuses = [f"<{cov}covered>", f"<{cov}not-covered>", f"<{cov}position-not-retrieved>"]
    contexts = [None, None, f"<{ctx}any>", f"<{ctx}allogeneic>"]
    for j in range(positions):
        x = f"<{ns}x{j}>"
        if rng.random() < 0.95:
            lines.append(f"{x} a cr:CoveragePosition .")
        lines += [f"{x} cr:appliesTo {c} ." for c in rng.sample(codes, rng.choice((1, 1, 2)))]
        lines += [f"{x} cr:coverageStatus {s} ." for s in rng.sample(statuses, rng.choice((1, 1, 1, 2)))]
        draw = rng.random()
        if draw < 0.4:
            lines.append(f"{x} cr:payer {rng.choice(payers)} .")
        elif draw < 0.45:
            lines.append(f"{x} cr:payer {payers[0]} , {payers[1]} .")
        lines += [f"{p} cr:position {x} ." for p in rng.sample(policies, rng.choice((0, 1, 1, 1, 2)))]
        context = rng.choice(contexts)
        if context:
            lines.append(f"{x} cr:clinicalContext {context} .")
        for prop in ("effectiveDate", "endDate"):
            if rng.random() < 0.3:
                lines.append(f"{x} cr:{prop} {date()} .")
    return "\n".join(lines)


def test_random_positions_same_as_pyshacl(tmp_path, settings):
    """Forty small random graphs of payer positions, each in a namespace of its own so that
    they do not meet, validated five to a run against PositionConflictShape alone (the other
    rules deactivated: pySHACL's time goes to this one): the same results on both engines,
    and conflicts found in many of the graphs."""
    import random

    head = ("@prefix cr: <https://w3id.org/coderef/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
            "@prefix dct: <http://purl.org/dc/terms/> . @prefix schema: <https://schema.org/> .\n"
            "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n")
    shapes = load_graph(cfg.shape_files(settings))
    conflict = rdflib.URIRef("https://w3id.org/coderef/shapes#PositionConflictShape")
    assert conflict in set(top_level_shapes(shapes))
    for shape in top_level_shapes(shapes):
        if shape != conflict:
            shapes.set((shape, SH.deactivated, rdflib.Literal(True)))
    shape_file = tmp_path / "conflict.shapes.ttl"
    shapes.serialize(shape_file, format="turtle")
    met = set()
    # five graphs to a run: pySHACL checks each position against every other of its run
    for batch in range(8):
        graphs = []
        for seed in range(batch * 5, batch * 5 + 5):
            rng = random.Random(seed)
            graphs.append(random_positions(rng, f"http://example.org/g{seed}/", rng.randint(2, 9)))
        data = tmp_path / f"random-positions-{batch}.ttl"
        data.write_text(head + "\n".join(graphs) + "\n")
        reference = validate([data], shape_paths=[shape_file], settings=settings, engine="pyshacl")
        fast = validate([data], shape_paths=[shape_file], settings=settings)
        assert_same(fast, reference)
        assert {r["shape"] for r in reference.results} <= {str(conflict)}
        met |= {r["focus"].split("/")[3] for r in reference.results}
    assert len(met) >= 10, sorted(met)


FORKED = """
import json, sys
from server.validate import engine as validation

data = sys.argv[1]
one = validation.validate([data])
validation.PARALLEL_FROM = 0
calls, original = [], validation._run_forked

def spy(*args):
    calls.append(1)
    return original(*args)

validation._run_forked = spy
many = validation.validate([data], jobs=2)
print(json.dumps({"forked": bool(calls), "same": many.results == one.results, "conforms": one.conforms}))
"""


def test_rules_checked_in_forked_processes(tmp_path, settings, repo_root):
    """--jobs: the same report from forked workers as from one process. In a fresh
    interpreter, as `coderef validate` runs: forking is (rightly) refused in a process that
    runs other threads, as this test session does once a threaded server fixture is up."""
    import subprocess

    data = tmp_path / "broken.ttl"
    broken_graph(data, settings)
    done = subprocess.run([sys.executable, "-c", FORKED, str(data)], cwd=repo_root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["forked"], "the rules were checked in forked processes"
    assert outcome["same"] and not outcome["conforms"]


# ------------------------------------------------------------------ remote

def test_remote_endpoint_validated_in_place(oxigraph_endpoint, shipped, settings):
    """The same SELECTs over HTTP: the data stays on the server."""
    embedded = shipped
    remote = validate(settings={**settings, "SPARQL_ENDPOINT": oxigraph_endpoint})
    assert remote.files[0] == oxigraph_endpoint
    assert rows(remote) == rows(embedded)
    assert remote.triples == embedded.triples


def test_remote_endpoint_reports_violations(settings, tmp_path, repo_root):
    """Violations in data held by a server of its own, loaded by `coderef load`."""
    from support.oxigraph_server import OxigraphServer

    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    shutil.copytree(repo_root / "ontology", root / "ontology")
    data = root / "data" / "broken.ttl"
    broken_graph(data, settings)
    local = validate([data], settings=settings)
    with OxigraphServer(tmp_path / "store") as server:
        assert coderef(["load", "--root", str(root), "--endpoint", server.query_url]) == 0
        remote = validate(settings={**settings, "SPARQL_ENDPOINT": server.query_url})
    assert not remote.conforms
    assert rows(remote) == rows(local)


# ------------------------------------------------------------------ the engine itself

def test_untranslated_rule_falls_back_to_pyshacl(tmp_path, settings):
    """A constraint the compiler does not translate (a SHACL-SPARQL GROUP BY) runs on
    pySHACL, and the report says so."""
    shapes = tmp_path / "grouped.shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cr: <%s> .\n"
        "<urn:x:TypedPayer> a sh:NodeShape ; sh:targetClass cr:Payer ;\n"
        "  sh:sparql [ sh:message \"{$this}: typed\" ;\n"
        "    sh:select \"SELECT $this WHERE { $this a ?t } GROUP BY $this HAVING (COUNT(?t) > 0)\" ] .\n"
        "<urn:x:PayerName> a sh:PropertyShape ; sh:targetClass cr:Payer ;\n"
        "  sh:path <https://schema.org/name> ; sh:maxCount 0 ; sh:message \"{$this}: named\" .\n" % CR
    )
    fast = validate(shape_paths=[shapes], settings=settings)
    reference = validate(shape_paths=[shapes], settings=settings, engine="pyshacl")
    assert list(fast.fallback) == ["urn:x:TypedPayer"]
    assert "GROUP" in fast.fallback["urn:x:TypedPayer"]
    assert "checked by pySHACL" in fast.summary()
    assert_same(fast, reference)
    assert {r["shape"] for r in fast.results} == {"urn:x:TypedPayer", "urn:x:PayerName"}
    with pytest.raises(ConfigError, match="fast-only.*TypedPayer.*GROUP"):
        validate(shape_paths=[shapes], settings=settings, engine="fast-only")


def test_closed_shapes_and_property_pairs_on_the_fast_path(tmp_path, settings):
    """sh:closed, sh:disjoint, sh:lessThan and sh:qualifiedValueShape (issue 20) are
    translated: no fallback, and pySHACL's results on the shipped data."""
    shapes = tmp_path / "closed.shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cr: <%s> . @prefix schema: <https://schema.org/> .\n"
        "<urn:x:ClosedPayer> a sh:NodeShape ; sh:targetClass cr:Payer ; sh:closed true ; sh:message \"closed\" ;\n"
        "  sh:ignoredProperties ( <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ) ;\n"
        "  sh:property [ sh:path schema:name ; sh:disjoint schema:alternateName ; sh:message \"disjoint\" ] ;\n"
        "  sh:property [ sh:path schema:name ; sh:lessThan schema:url ; sh:message \"less\" ] ;\n"
        "  sh:property [ sh:path schema:name ; sh:message \"qualified\" ; sh:qualifiedValueShape [ sh:datatype "
        "<http://www.w3.org/2001/XMLSchema#string> ] ; sh:qualifiedMinCount 2 ] .\n" % CR
    )
    fast = validate(shape_paths=[shapes], settings=settings)
    reference = validate(shape_paths=[shapes], settings=settings, engine="pyshacl")
    assert not fast.fallback
    assert {r["component"].rsplit("#", 1)[-1] for r in fast.results} >= {
        "ClosedConstraintComponent", "QualifiedMinCountConstraintComponent"}
    assert_same(fast, reference)


def test_focus_constraints_of_one_target_checked_together(tmp_path, settings):
    """Counts and sh:hasValue of every shape with the same target are tested in one pass
    over the focus nodes; each failing one is still its own result, under its own shape,
    path and message, as pySHACL reports it."""
    shapes = tmp_path / "counts.shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix cr: <%s> .\n"
        "<urn:x:PayerName> a sh:PropertyShape ; sh:targetClass cr:Payer ;\n"
        "  sh:path <https://schema.org/name> ; sh:maxCount 0 ; sh:message \"{$this}: named\" .\n"
        "<urn:x:PayerTwice> a sh:NodeShape ; sh:targetClass cr:Payer ;\n"
        "  sh:property [ sh:path <urn:x:nothing> ; sh:minCount 2 ; sh:message \"{$this}: needs two\" ] ;\n"
        "  sh:property [ sh:path <https://schema.org/name> ; sh:minCount 1 ; sh:message \"{$this}: unnamed\" ] .\n"
        "<urn:x:PayerIsItself> a sh:NodeShape ; sh:targetClass cr:Payer ; sh:hasValue <urn:x:nobody> ;\n"
        "  sh:message \"{$this}: not nobody\" .\n" % CR
    )
    checks, fallback = compile_shapes(load_graph([shapes]))
    assert not fallback
    merged = [c for c in checks if c.focus_tests]
    assert len(merged) == 1 and len(merged[0].focus_tests) == 4, "one pass for the shapes of one target"
    fast = validate(shape_paths=[shapes], settings=settings)
    reference = validate(shape_paths=[shapes], settings=settings, engine="pyshacl")
    assert_same(fast, reference)
    payers = {r["focus"] for r in fast.results}
    assert payers and len(fast.results) == 3 * len(payers)  # named, not two, not nobody; never unnamed
    assert {r["message"].split(": ")[1] for r in fast.results} == {"named", "needs two", "not nobody"}


def test_compiler_reads_every_shipped_rule(settings):
    shapes = load_graph(cfg.shape_files(settings))
    checks, fallback = compile_shapes(shapes)
    assert not fallback
    # a check of constraints on whole focus nodes may serve several shapes of one target
    covered = {c.shape for c in checks if not c.focus_tests} | {t.shape for c in checks for t in c.focus_tests}
    assert covered == set(top_level_shapes(shapes))
    for check in checks:
        ox.Store().query(check.query)  # every compiled query parses and runs


def test_deactivated_rule_is_skipped(tmp_path, settings, repo_root):
    text = (repo_root / "shapes" / "core.shapes.ttl").read_text()
    shapes = tmp_path / "core.shapes.ttl"
    shapes.write_text(text + "\ncrsh:PayerNameShape sh:deactivated true .\n")
    data = tmp_path / "payer.ttl"
    data.write_text(
        "@prefix cr: <%s> .\n<%spayer/nameless> a cr:Payer ; cr:payerSlug \"nameless\" .\n" % (CR, ID)
    )
    fast = validate([data], shape_paths=[shapes], settings=settings)
    shapes_hit = {r["shape"].rsplit("#", 1)[-1] for r in fast.results}
    assert "PayerTypeShape" in shapes_hit and "PayerNameShape" not in shapes_hit
    assert_same(fast, validate([data], shape_paths=[shapes], settings=settings, engine="pyshacl"))


def test_cli_engine_option_and_json(capsys, tmp_path, settings):
    data = tmp_path / "payer.ttl"
    data.write_text("@prefix cr: <%s> .\n<%spayer/nameless> a cr:Payer .\n" % (CR, ID))
    for engine in ("fast", "pyshacl"):
        code = coderef(["validate", "--engine", engine, "--format", "json", str(data)])
        out = json.loads(capsys.readouterr().out)
        assert code == 1 and out["engine"] == engine and not out["conforms"]
        assert {r["focus"] for r in out["results"]} == {ID + "payer/nameless"}


def test_progress_reports_files_and_rules(settings):
    seen = []
    validate(settings=settings, progress=lambda n, total, item: seen.append((n, total, str(item))))
    assert any(item.endswith(".ttl") for _, _, item in seen)
    assert any(item.startswith("rule ") for _, _, item in seen)
    assert all(1 <= n <= total for n, total, _ in seen)


def test_report_for_is_memoised_and_fast(settings):
    first = report_for(settings)
    assert first.engine == "fast"
    assert report_for(settings) is first
