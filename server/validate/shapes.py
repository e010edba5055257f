"""SHACL shapes compiled to SPARQL SELECTs, run on any store (embedded or remote).

pySHACL walks every focus node in Python and, for SHACL-SPARQL, evaluates the query once
per node; here each shape becomes one SELECT that finds all its violations at once, so the
store's engine does the joins (measurements.md: 1M triples in ~10 s instead of hours).
Constraints on the focus node as a whole (counts, sh:hasValue) of all shapes with the same
target are tested in one more SELECT, one pass over those focus nodes.

SHACL Core is translated by server/validate/compile.py. SHACL-SPARQL: sh:sparql SELECT
constraints with sh:prefixes and $PATH, the target joined at the head of the outer WHERE
group (pre-binding of $this) and of every inner group that reads $this in an expression;
sh:deactivated, sh:severity, sh:message with {?var}/{$var} filled in as pySHACL does (a
SHACL Core constraint without sh:message gets a default one, compile.default_message).

A shape using anything else (sh:closed, qualified shapes, $currentShape, a SELECT with
GROUP BY or a sub-SELECT, VALUES, a parameter of a SPARQL-based constraint component,
sh:property of a property shape, ...) raises Unsupported while compiling, and the caller
checks that shape with pySHACL instead, saying so in the report. A SHACL-SPARQL query
that does not parse (an undeclared prefix) is an error of the shapes (ConfigError).
"""

import re

import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SH

from ..errors import ConfigError
from ..sparql.text import tokens
from .checks import Check, FocusTest, Unsupported, to_sparql
from .compile import Compiler, component, default_message

# ------------------------------------------------------------------ SHACL-SPARQL


def _prefixes(g: rdflib.Graph, constraint) -> str:
    lines = []
    for source in g.objects(constraint, SH.prefixes):
        for decl in g.objects(source, SH.declare):
            prefix, namespace = g.value(decl, SH.prefix), g.value(decl, SH.namespace)
            if prefix is None or namespace is None:
                raise Unsupported(f"sh:declare without sh:prefix or sh:namespace on {source}")
            lines.append(f"PREFIX {prefix}: {to_sparql(rdflib.URIRef(str(namespace)))}\n")
    return "".join(lines)


def _sparql_query(compiler: Compiler, shape, constraint, target: str) -> tuple[str, bool]:
    """The constraint's SELECT with the target joined first in its WHERE group; and
    whether the query itself projects $this."""
    g = compiler.g
    text = str(g.value(constraint, SH.select) or "")
    if not text:
        raise Unsupported("sh:sparql without sh:select (ASK-based validators are not translated)")
    if re.search(r"[$?](currentShape|shapesGraph|failure)\b", text):
        raise Unsupported("$currentShape, $shapesGraph or ?failure")
    path = g.value(shape, SH.path)
    if "$PATH" in text:
        if path is None:
            raise Unsupported("$PATH in a node shape")
        text = text.replace("$PATH", compiler.path(path))
    toks = list(tokens(text))
    words = [t[1].upper() for t in toks if t[0] == "word"]
    # evaluated once for all focus nodes, these would mean something else than per node
    # (a LIMIT per focus node, MINUS on a pre-bound $this, ...)
    unsafe = {"GROUP", "LIMIT", "OFFSET", "MINUS", "SERVICE", "HAVING"} & set(words)
    if words.count("SELECT") != 1 or unsafe:
        raise Unsupported(f"a sub-SELECT or {', '.join(sorted(unsafe)) or 'nested SELECT'} in the SHACL-SPARQL query")
    if "VALUES" in words:
        # the specification forbids it; pySHACL refuses the shape, saying so
        raise Unsupported("VALUES in the SHACL-SPARQL query")
    select = next(i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == "SELECT")
    where = next((i for i in range(select, len(toks)) if toks[i][1] == "{"), None)
    if where is None:
        raise Unsupported("no WHERE group")
    inner = _groups_reading_this(toks, where)
    projection = toks[select + 1:where]
    names = {t[1][1:] for t in projection if t[0] == "var"}
    star = any(t[1] == "*" for t in projection)
    projects_this = star or "this" in names
    head = text[:toks[where][3]]
    if not projects_this:
        at = toks[select][3]
        if projection and projection[0][0] == "word" and projection[0][1].upper() in ("DISTINCT", "REDUCED"):
            at = projection[0][3]
        head = f"{text[:at]} ?this{text[at:toks[where][3]]}"
    tail = text[toks[where][3]:]
    for at in sorted(inner, reverse=True):
        at -= toks[where][3]
        tail = f"{tail[:at]} {target} {tail[at:]}"
    query = f"{head} {target} {tail}"
    query = _prefixes(g, constraint) + re.sub(r"\$this\b", "?this", query)
    try:
        ox.Store().query(query)  # an empty store: only whether it parses
    except SyntaxError as err:
        words = [t[1] for t in tokens(query) if t[0] == "word"]
        declared = {w for before, w in zip(words, words[1:]) if before.upper() == "PREFIX"}
        missing = sorted({w.split(":")[0] + ":" for w in words if ":" in w} - declared)
        if missing:
            raise ConfigError(f"the SHACL-SPARQL query of {shape} uses the undeclared prefix {', '.join(missing)}: "
                              "declare it (sh:declare) in a shape file given, under the node its sh:prefixes "
                              "names; an ontology that only owl:imports names is not read") from None
        raise ConfigError(f"the SHACL-SPARQL query of {shape} does not parse: {err}") from None
    return query, projects_this


def _groups_reading_this(toks, where: int) -> list:
    """The offsets (just inside the brace) of the inner groups that must join the target
    too. Joined at the head of the WHERE group, the target binds $this wherever the query
    reads it, as pre-binding would, in that group, in an EXISTS of it, and as a term of a
    triple pattern of an inner group (which joins on it); but in an expression of an inner
    group (FILTER, BIND, or an EXISTS there) $this would be unbound."""
    stack = []  # ("outer" | "group" | "exists", offset) per open brace; ("(", None) per parenthesis
    found = []
    for i in range(where, len(toks)):
        kind, text = toks[i][0], toks[i][1]
        if text == "{":
            before = toks[i - 1][1].upper() if i > where else ""
            stack.append(("outer" if not stack else "exists" if before == "EXISTS" else "group", toks[i][3]))
        elif text == "(":
            stack.append(("(", None))
        elif text in ("}", ")") and stack:
            stack.pop()
        elif kind == "var" and text[1:] == "this" and stack:
            group = next(entry for entry in reversed(stack) if entry[0] in ("outer", "group"))
            if group[0] == "group" and stack[-1][0] != "group" and group[1] not in found:
                found.append(group[1])
    return found


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
    for top in top_level_shapes(g):
        try:
            compiled, tests = _compile_shape(g, top)
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


def _compile_shape(g, top) -> tuple[list[Check], list]:
    """The checks of one top-level shape, and its (target, FocusTest) pairs."""
    compiler = Compiler(g)
    target = compiler.targets(top)
    subjects_of = set(g.objects(top, SH.targetSubjectsOf))
    members = [(top, target)]
    # property shapes of a targeted node shape validate the same focus nodes
    members += [(prop, target) for prop in g.objects(top, SH.property)]
    out, tests = [], []
    if _deactivated(g, top):  # its property shapes too: they are reached only through it
        return out, tests
    for shape, tgt in members:
        if _deactivated(g, shape):
            continue
        compiler.check_supported(shape)
        severity = g.value(shape, SH.severity) or SH.Violation
        messages = sorted(g.objects(shape, SH.message), key=str)
        path = g.value(shape, SH.path)
        label = str(g.value(shape, RDFS.label) or shape)
        base = dict(shape=shape, severity=severity, messages=messages, path=path,
                    is_property=path is not None, label=label)
        query, focus_fails, failed_by = compiler.core_query(shape, tgt, subjects_of)
        if query is not None:
            components = {k: (component(c), default_message(g, c, o, path)) for k, (c, o) in failed_by.items()}
            out.append(Check(query=query, components=components, **base))
        for fails, c, o in focus_fails:
            own = dict(base, messages=messages or [rdflib.Literal(default_message(g, c, o, path))])
            tests.append((tgt, FocusTest(Check(query="", component=component(c), **own), fails)))
        for constraint in g.objects(shape, SH.sparql):
            if _deactivated(g, constraint):
                continue
            extra = sorted(g.objects(constraint, SH.message), key=str)
            text, projects_this = _sparql_query(compiler, shape, constraint, tgt)
            out.append(Check(query=text, extra_messages=extra, sparql=True, projects_this=projects_this,
                             component=SH.SPARQLConstraintComponent, **base))
    return out, tests
