"""SHACL shapes compiled to SPARQL SELECTs, run on any store (embedded or remote).

pySHACL walks every focus node in Python and, for SHACL-SPARQL, evaluates the query once
per node; here each shape becomes one SELECT that finds all its violations at once, so the
store's engine does the joins (measurements.md: 1M triples in ~10 s instead of hours).
Constraints on the focus node as a whole (counts, sh:hasValue) of all shapes with the same
target are tested in one more SELECT, one pass over those focus nodes.

SHACL Core is translated by server/validate/compile.py; SHACL-SPARQL (sh:sparql
constraints and SPARQL-based constraint components, pre-binding by rewriting) by
server/validate/sparql_constraints.py. sh:deactivated, sh:severity, sh:message with
{?var}/{$var} filled in as pySHACL does (a SHACL Core constraint without sh:message gets a
default one, vocabulary.default_message). The property shapes of a property shape validate
the values of its path.

A shape using anything else (a count above 3 in a nested shape, a SHACL-SPARQL query with
GROUP BY, LIMIT or a sub-SELECT *, a SPARQL-based component in a nested shape, an ASK-based
sh:sparql, ...) raises Unsupported while compiling, and the caller checks that shape with
pySHACL instead, saying so in the report. A SHACL-SPARQL query that does not parse (an
undeclared prefix) or that SHACL forbids (MINUS, SERVICE, VALUES) is an error of the
shapes (ConfigError).
"""

import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SH

from .checks import Check, FocusTest, Unsupported
from .compile import Compiler
from .sparql_constraints import component_checks, components, select_query
from .vocabulary import component, default_message

# ------------------------------------------------------------------ entry points


def top_level_shapes(g: rdflib.Graph) -> list:
    """Shapes with targets, as pySHACL validates them (nested ones only through these)."""
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    found = {s for t in targets for s in g.subjects(t, None)}
    for kind in (RDFS.Class, OWL.Class):
        for s in g.subjects(RDF.type, kind):
            if (s, RDF.type, SH.NodeShape) in g or (s, RDF.type, SH.PropertyShape) in g:
                found.add(s)
    return sorted(found, key=str)


def compile_shapes(g: rdflib.Graph) -> tuple[list[Check], dict]:
    """Checks for every top-level shape that translates, and {shape: reason} for those
    that do not (the caller runs pySHACL on them)."""
    checks, fallback, focus_tests = [], {}, {}
    declared = components(g)
    for top in top_level_shapes(g):
        try:
            compiled, tests = _compile_shape(g, top, declared)
        except Unsupported as why:
            fallback[top] = str(why)
            continue
        checks.extend(compiled)
        for target, test in tests:
            focus_tests.setdefault(target, []).append(test)
    for target, tests in focus_tests.items():
        checks.append(_focus_check(target, tests))
    return checks, fallback


def _focus_check(target: str, tests: list) -> Check:
    """One pass over the focus nodes of a target for every constraint on the focus node
    as a whole, of any shape with that target: finding the focus nodes is most of the
    cost of such a constraint, and an Oxigraph store shares no work between queries.
    A row per failing focus node, ?_fN true for each failing constraint N."""
    flags = [f"?_f{n}" for n in range(len(tests))]
    binds = " ".join(f"BIND (COALESCE({test.fails}, false) AS {flag})" for test, flag in zip(tests, flags))
    query = f"SELECT ?this {' '.join(flags)} WHERE {{ {target} {binds} FILTER ({' || '.join(flags)}) }}"
    labels = sorted({t.check.label for t in tests})
    first = tests[0].check
    return Check(shape=first.shape, severity=first.severity, query=query, label=", ".join(labels),
                 focus_tests=[t.check for t in tests])


def _deactivated(g, node) -> bool:
    return str(g.value(node, SH.deactivated) or "").lower() in ("true", "1")


def _members(g, compiler, shape, target, subjects_of, seen=()):
    """(shape, target, subjects_of) of a shape and the property shapes it holds, each with
    the focus nodes it validates: a node shape's property shapes its own, a property
    shape's property shapes the values of its path (sh:property of a property shape)."""
    if _deactivated(g, shape) or shape in seen:  # a deactivated shape's property shapes too
        return
    yield shape, target, subjects_of
    path = g.value(shape, SH.path)
    inner = target if path is None else compiler.value_target(target, path)
    for prop in sorted(g.objects(shape, SH.property), key=str):
        yield from _members(g, compiler, prop, inner, subjects_of if path is None else frozenset(), (*seen, shape))


def _compile_shape(g, top, declared=()) -> tuple[list[Check], list]:
    """The checks of one top-level shape, and its (target, FocusTest) pairs."""
    compiler = Compiler(g)
    target = compiler.targets(top)
    out, tests = [], []
    for shape, tgt, subjects_of in _members(g, compiler, top, target, frozenset(g.objects(top, SH.targetSubjectsOf))):
        compiler.check_supported(shape)
        severity = g.value(shape, SH.severity) or SH.Violation
        messages = sorted(g.objects(shape, SH.message), key=str)
        path = g.value(shape, SH.path)
        label = str(g.value(shape, RDFS.label) or shape)
        base = dict(shape=shape, severity=severity, messages=messages, path=path,
                    is_property=path is not None, label=label)
        query, focus_fails, failed_by = compiler.core_query(shape, tgt, subjects_of)
        if query is not None:
            made = {k: (component(c), default_message(g, c, o, path)) for k, (c, o) in failed_by.items()}
            out.append(Check(query=query, components=made, **base))
        for fails, c, o in focus_fails:
            own = dict(base, messages=messages or [rdflib.Literal(default_message(g, c, o, path))])
            tests.append((tgt, FocusTest(Check(query="", component=component(c), **own), fails)))
        for constraint in g.objects(shape, SH.sparql):
            if _deactivated(g, constraint):
                continue
            extra = sorted(g.objects(constraint, SH.message), key=str)
            text, projects_this = select_query(compiler, shape, constraint, str(g.value(constraint, SH.select) or ""),
                                               tgt)
            out.append(Check(query=text, extra_messages=extra, sparql=True, projects_this=projects_this,
                             component=SH.SPARQLConstraintComponent, **base))
        for text, projects_this, made, extra, _, values in component_checks(compiler, shape, tgt, declared):
            fixed = {str(p).rsplit("#", 1)[-1].rsplit("/", 1)[-1]: v for p, v in values.items()}
            out.append(Check(query=text, extra_messages=extra, sparql=True, projects_this=projects_this,
                             component=made, fixed=fixed, **base))
    return out, tests
