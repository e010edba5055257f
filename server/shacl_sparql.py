"""SHACL shapes compiled to SPARQL SELECTs, run on any store (embedded or remote).

pySHACL walks every focus node in Python and, for SHACL-SPARQL, evaluates the query once
per node; here each shape becomes one SELECT that finds all its violations at once, so the
store's engine does the joins (measurements.md: 1M triples in ~10 s instead of hours).
Constraints on the focus node as a whole (counts, sh:hasValue) of all shapes with the same
target are tested in one more SELECT, one pass over those focus nodes.

What is translated, generically from the shapes graph:
- targets: sh:targetClass (with the data's rdfs:subClassOf closure), sh:targetNode,
  sh:targetSubjectsOf, sh:targetObjectsOf, implicit class targets, and sh:property of a
  targeted node shape;
- paths: predicate, inverse, sequence, alternative, zero-or-more, one-or-more, zero-or-one;
- SHACL Core: class, datatype, nodeKind, in, hasValue, pattern/flags, minLength,
  maxLength, min/maxInclusive/Exclusive, languageIn, uniqueLang, equals, minCount and
  maxCount (up to 3), node, not, and, or, xone (nested shapes as boolean expressions);
- SHACL-SPARQL: sh:sparql SELECT constraints with sh:prefixes and $PATH, the target
  joined at the head of the outer WHERE group (pre-binding of $this);
- sh:deactivated, sh:severity, sh:message with {?var}/{$var} filled in as pySHACL does.

A shape using anything else (sh:closed, qualified shapes, $currentShape, a SELECT with
GROUP BY or a sub-SELECT, a shape without sh:message, ...) raises Unsupported while
compiling, and the caller checks that shape with pySHACL instead.

Results come back as `Raw` tuples of rdflib terms, the same fields pySHACL puts in its
results graph, so one function turns both engines' output into the report.
"""

import functools
import re
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD

__all__ = ["Unsupported", "Check", "Raw", "compile_shapes", "run_check", "to_rdflib", "to_sparql"]

# The constraint parameters this module understands; any other sh: predicate on a shape
# (other than these descriptive ones) makes the shape Unsupported.
_DESCRIPTIVE = {
    SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.severity,
    SH.message, SH.deactivated, SH.path, SH.name, SH.description, SH.order, SH.group,
    SH.defaultValue, SH.property, SH.sparql,
}
_PER_VALUE = {
    SH["class"], SH.datatype, SH.nodeKind, SH["in"], SH.pattern, SH.flags, SH.minLength,
    SH.maxLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
    SH.languageIn, SH.node, SH["not"], SH["and"], SH["or"], SH.xone,
}
_PER_FOCUS = {SH.minCount, SH.maxCount, SH.hasValue, SH.uniqueLang, SH.equals}
_MAX_COUNTED = 3  # minCount/maxCount as "k distinct values exist"; larger counts fall back
# Datatypes whose lexical form pySHACL checks (through rdflib's parsers); a literal of one
# of them is well-formed here when Oxigraph can cast it. Other datatypes, in pySHACL as
# here, match on the datatype IRI alone (so "20x6"^^xsd:gYear passes both).
_CHECKED = {
    XSD.boolean, XSD.integer, XSD.decimal, XSD.float, XSD.double, XSD.date, XSD.dateTime, XSD.time,
}


class Unsupported(Exception):
    """The shape uses something the compiler does not translate (the message says what)."""


@dataclass
class Check:
    """One top-level shape (or one of its SHACL-SPARQL constraints) as one SELECT."""

    shape: rdflib.term.Node
    severity: rdflib.URIRef
    query: str
    messages: list = field(default_factory=list)  # sh:message literals of the shape
    extra_messages: list = field(default_factory=list)  # of the SPARQL constraint
    path: rdflib.term.Node | None = None
    is_property: bool = False
    sparql: bool = False
    projects_this: bool = True
    label: str = ""
    # a check of constraints of several shapes on the same focus nodes: row flag ?_fN
    # true means the constraint of focus_tests[N] (its shape, path, messages) failed
    focus_tests: list = field(default_factory=list)


@dataclass(frozen=True)
class Raw:
    """One validation result, as pySHACL's results graph states it."""

    focus: rdflib.term.Node
    path: rdflib.term.Node | None
    value: rdflib.term.Node | None
    shape: rdflib.term.Node
    severity: rdflib.URIRef
    messages: tuple


# ------------------------------------------------------------------ terms

def to_sparql(term) -> str:
    """An rdflib term as SPARQL text, serialized by pyoxigraph (escaped, never pasted)."""
    if isinstance(term, rdflib.URIRef):
        return str(ox.NamedNode(str(term)))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return str(ox.Literal(str(term), language=term.language))
        if term.datatype is not None:
            return str(ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype))))
        return str(ox.Literal(str(term)))
    raise Unsupported(f"a blank node {term} cannot be written in a query")


def to_rdflib(term: dict):
    """A SPARQL JSON results term as an rdflib term (plain strings stay untyped, as rdflib
    reads them from Turtle)."""
    kind = term["type"]
    if kind == "uri":
        return rdflib.URIRef(term["value"])
    if kind == "bnode":
        return rdflib.BNode(term["value"])
    datatype = term.get("datatype")
    if datatype == str(XSD.string):
        datatype = None
    return rdflib.Literal(term["value"], lang=term.get("xml:lang"), datatype=datatype)


def canonical(term):
    """A literal as an Oxigraph store keeps it: valid numbers and dates by value, so that
    "-1.00"^^xsd:decimal reads back as "-1". Both engines' reports show values this way."""
    if not isinstance(term, rdflib.Literal) or term.datatype is None:
        return term
    return rdflib.Literal(_canonical_lexical(str(term), str(term.datatype)), datatype=term.datatype)


@functools.lru_cache(maxsize=4096)
def _canonical_lexical(lexical: str, datatype: str) -> str:
    store = ox.Store()
    node = ox.NamedNode("urn:x-coderef:value")
    store.add(ox.Quad(node, node, ox.Literal(lexical, datatype=ox.NamedNode(datatype))))
    return next(iter(store)).object.value


# ------------------------------------------------------------------ paths and targets

class _Compiler:
    def __init__(self, shapes: rdflib.Graph):
        self.g = shapes
        self.fresh = 0

    def var(self, stem="v") -> str:
        self.fresh += 1
        return f"?_{stem}{self.fresh}"

    def items(self, node) -> list:
        return list(Collection(self.g, node))

    def path(self, node) -> str:
        g = self.g
        if isinstance(node, rdflib.URIRef):
            return to_sparql(node)
        first = g.value(node, RDF.first)
        if first is not None:
            return "(" + "/".join(self.path(p) for p in self.items(node)) + ")"
        for prop, wrap in ((SH.inversePath, "^({})"), (SH.zeroOrMorePath, "({})*"),
                           (SH.oneOrMorePath, "({})+"), (SH.zeroOrOnePath, "({})?")):
            inner = g.value(node, prop)
            if inner is not None:
                return wrap.format(self.path(inner))
        alternatives = g.value(node, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(self.path(p) for p in self.items(alternatives)) + ")"
        raise Unsupported(f"path {node} is of a kind SHACL does not define")

    def targets(self, shape) -> str:
        """A group binding ?this to each focus node once."""
        g = self.g
        parts = []
        classes = list(g.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in g or (shape, RDF.type, OWL.Class) in g:
            classes.append(shape)
        for c in classes:
            parts.append(f"?this {to_sparql(RDF.type)}/{to_sparql(RDFS.subClassOf)}* {to_sparql(c)} .")
        nodes = list(g.objects(shape, SH.targetNode))
        if nodes:
            parts.append("VALUES ?this { " + " ".join(to_sparql(n) for n in nodes) + " }")
        for p in g.objects(shape, SH.targetSubjectsOf):
            parts.append(f"?this {to_sparql(p)} ?_any .")
        for p in g.objects(shape, SH.targetObjectsOf):
            parts.append(f"?_any {to_sparql(p)} ?this .")
        if not parts:
            return ""
        union = " UNION ".join("{ " + p + " }" for p in parts)
        return f"{{ SELECT DISTINCT ?this WHERE {{ {union} }} }}"

    # -------------------------------------------------------------- constraints

    def value_test(self, shape, v: str) -> str:
        """A boolean SPARQL expression, never an error: the node in `v` passes every
        per-value constraint of `shape` (the node-level part of a nested shape)."""
        g = self.g
        tests = []
        for p, o in g.predicate_objects(shape):
            if p in _PER_VALUE:
                tests.append(self.one_test(shape, p, o, v))
        return " && ".join(f"({t})" for t in tests) or "true"

    def one_test(self, shape, p, o, v: str) -> str:
        g = self.g
        if p == SH["class"]:
            return (f"(!isLiteral({v}) && EXISTS {{ {v} {to_sparql(RDF.type)}/{to_sparql(RDFS.subClassOf)}* "
                    f"{to_sparql(o)} }})")
        if p == SH.datatype:
            return self.datatype_test(o, v)
        if p == SH.nodeKind:
            kinds = {
                SH.IRI: f"isIRI({v})", SH.BlankNode: f"isBlank({v})", SH.Literal: f"isLiteral({v})",
                SH.BlankNodeOrIRI: f"(isBlank({v}) || isIRI({v}))",
                SH.BlankNodeOrLiteral: f"(isBlank({v}) || isLiteral({v}))",
                SH.IRIOrLiteral: f"(isIRI({v}) || isLiteral({v}))",
            }
            if o not in kinds:
                raise Unsupported(f"sh:nodeKind {o}")
            return kinds[o]
        if p == SH["in"]:
            members = self.items(o)
            return " || ".join(f"sameTerm({v}, {to_sparql(m)})" for m in members) or "false"
        if p == SH.pattern:
            flags = g.value(shape, SH.flags)
            args = f", {to_sparql(rdflib.Literal(str(flags)))}" if flags is not None else ""
            return f"COALESCE(!isBlank({v}) && REGEX(STR({v}), {to_sparql(rdflib.Literal(str(o)))}{args}), false)"
        if p == SH.flags:
            return "true"  # read with sh:pattern
        if p in (SH.minLength, SH.maxLength):
            op = ">=" if p == SH.minLength else "<="
            return f"COALESCE(!isBlank({v}) && STRLEN(STR({v})) {op} {int(o)}, false)"
        if p in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
            op = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}[p]
            return f"COALESCE({v} {op} {to_sparql(o)}, false)"
        if p == SH.languageIn:
            langs = [str(x) for x in self.items(o)]
            tests = " || ".join(f"langMatches(lang({v}), {to_sparql(rdflib.Literal(x))})" for x in langs)
            return f"COALESCE(isLiteral({v}) && ({tests or 'false'}), false)"
        if p == SH.node:
            return self.conforms(o, v)
        if p == SH["not"]:
            return f"!({self.conforms(o, v)})"
        if p == SH["and"]:
            return " && ".join(f"({self.conforms(s, v)})" for s in self.items(o)) or "true"
        if p == SH["or"]:
            return " || ".join(f"({self.conforms(s, v)})" for s in self.items(o)) or "false"
        if p == SH.xone:
            members = [f"IF({self.conforms(s, v)}, 1, 0)" for s in self.items(o)]
            return f"({' + '.join(members) or '0'}) = 1"
        raise Unsupported(f"constraint {p}")

    def datatype_test(self, datatype, v: str) -> str:
        if datatype == RDFS.Literal:
            return f"isLiteral({v})"
        if datatype == RDF.langString:
            return f"(isLiteral({v}) && lang({v}) != \"\")"
        if datatype == XSD.string:
            return f"(isLiteral({v}) && datatype({v}) = {to_sparql(XSD.string)})"
        test = f"(isLiteral({v}) && datatype({v}) = {to_sparql(datatype)})"
        if datatype in _CHECKED:
            # an ill-typed literal (a 13th month) has the datatype but fails the cast
            cast = f"{to_sparql(datatype)}(STR({v}))"
            test = f"({test} && COALESCE(sameTerm({cast}, {cast}), false))"
        return test

    def conforms(self, shape, v: str) -> str:
        """Does the node in `v` conform to the (nested) shape? A boolean expression."""
        self.check_supported(shape, nested=True)
        path = self.g.value(shape, SH.path)
        if path is None:
            tests = [self.value_test(shape, v)]
            for p, o in self.g.predicate_objects(shape):
                if p in _PER_FOCUS:
                    tests.append(self.node_focus_test(p, o, v))
            for prop in self.g.objects(shape, SH.property):
                tests.append(self.conforms(prop, v))
            return " && ".join(f"({t})" for t in tests)
        p = self.path(path)
        tests = []
        w = self.var("w")
        per_value = self.value_test(shape, w)
        if per_value != "true":
            tests.append(f"NOT EXISTS {{ {v} {p} {w} . FILTER (!({per_value})) }}")
        for c, o in self.g.predicate_objects(shape):
            if c in _PER_FOCUS:
                tests.append(self.count_test(c, o, v, p, positive=True))
        return " && ".join(f"({t})" for t in tests) or "true"

    def node_focus_test(self, c, o, v: str) -> str:
        """A per-focus constraint on a node shape: its value node is the focus itself."""
        if c == SH.hasValue:
            return f"sameTerm({v}, {to_sparql(o)})"
        if c == SH.minCount:
            return "true" if int(o) <= 1 else "false"
        if c == SH.maxCount:
            return "true" if int(o) >= 1 else "false"
        raise Unsupported(f"{c} on a node shape")

    def distinct_values(self, v, p, k) -> str:
        """A pattern: the focus has at least k distinct values on the path."""
        ws = [self.var("w") for _ in range(k)]
        triples = " ".join(f"{v} {p} {w} ." for w in ws)
        different = [f"!sameTerm({a}, {b})" for i, a in enumerate(ws) for b in ws[i + 1:]]
        filt = f" FILTER ({' && '.join(different)})" if different else ""
        return triples + filt

    def count_test(self, c, o, v, p, positive: bool) -> str:
        """A per-focus constraint as a boolean expression (positive: it holds)."""
        if c in (SH.minCount, SH.maxCount):
            k = int(o) if c == SH.minCount else int(o) + 1
            if k > _MAX_COUNTED + 1 or (c == SH.minCount and k > _MAX_COUNTED):
                raise Unsupported(f"{c} {o}: counts above {_MAX_COUNTED}")
            if k <= 0:
                return "true" if c == SH.minCount else "false"
            exists = f"EXISTS {{ {self.distinct_values(v, p, k)} }}"
            holds = exists if c == SH.minCount else f"!{exists}"
            return holds if positive else f"!({holds})"
        if c == SH.hasValue:
            holds = f"EXISTS {{ {v} {p} {to_sparql(o)} }}"
            return holds if positive else f"!({holds})"
        if c == SH.uniqueLang:
            if str(o).lower() not in ("true", "1"):
                return "true" if positive else "false"
            a, b = self.var("w"), self.var("w")
            holds = (f"NOT EXISTS {{ {v} {p} {a}, {b} . FILTER (!sameTerm({a}, {b}) && lang({a}) != \"\" "
                     f"&& LCASE(lang({a})) = LCASE(lang({b}))) }}")
            return holds if positive else f"!({holds})"
        if c == SH.equals:
            a = self.var("w")
            holds = (f"NOT EXISTS {{ {v} {p} {a} . FILTER NOT EXISTS {{ {v} {to_sparql(o)} {a} }} }} && "
                     f"NOT EXISTS {{ {v} {to_sparql(o)} {a} . FILTER NOT EXISTS {{ {v} {p} {a} }} }}")
            return holds if positive else f"!({holds})"
        raise Unsupported(f"constraint {c}")

    def check_supported(self, shape, nested=False):
        predicates = set(self.g.predicates(shape))
        if SH.sparql in predicates and nested:
            raise Unsupported("sh:sparql in a nested shape")
        # Every untranslated term, in a stable order: the reason the report gives is repeatable.
        unknown = sorted(self.g.qname(p) for p in predicates
                         if str(p).startswith(str(SH)) and p not in _DESCRIPTIVE | _PER_VALUE | _PER_FOCUS)
        if unknown:
            raise Unsupported(", ".join(unknown))
        if nested and self.g.value(shape, SH.deactivated) is not None:
            raise Unsupported("sh:deactivated in a nested shape")

    # -------------------------------------------------------------- top level

    def _predicates(self, path) -> set | None:
        """The predicates of a path that is one predicate or an alternative of predicates
        (a value on it is a value of one of them); None for any other path."""
        if isinstance(path, rdflib.URIRef):
            return {path}
        alternatives = self.g.value(path, SH.alternativePath) if path is not None else None
        if alternatives is None:
            return None
        members = list(Collection(self.g, alternatives))
        return set(members) if members and all(isinstance(m, rdflib.URIRef) for m in members) else None

    def core_query(self, shape, target: str, subjects_of=frozenset()) -> tuple[str | None, list]:
        """One SELECT for the SHACL Core constraints of a top-level shape that look at
        values: rows (?this ?value ?_k), ?_k naming the component that failed; and, as
        boolean expressions on ?this that hold when it fails, the constraints on the focus
        node as a whole (counts, sh:hasValue), which compile_shapes tests in one pass over
        the focus nodes for every shape with the same target. `subjects_of`: the
        sh:targetSubjectsOf predicates of the top-level shape."""
        g = self.g
        path = g.value(shape, SH.path)
        branches, focus_fails = [], []
        p = self.path(path) if path is not None else None
        # A node with a value on a path of such predicates is a focus node already: the
        # values need no join with the target (at 1M triples the date rule took 1.0 s with
        # it, 0.5 s without).
        own = self._predicates(path)
        value_target = "" if own and own <= set(subjects_of) else target
        for n, (c, o) in enumerate(sorted(g.predicate_objects(shape), key=lambda po: (str(po[0]), str(po[1])))):
            if c in _PER_VALUE and c != SH.flags:
                v = "?value"
                test = self.one_test(shape, c, o, v)
                values = f"?this {p} ?value ." if p else "BIND (?this AS ?value)"
                branches.append(f"{{ {value_target} {values} FILTER (!({test})) BIND ({n} AS ?_k) }}")
            elif c in _PER_FOCUS:
                if p is None:
                    test = self.node_focus_test(c, o, "?this")
                    if target:
                        focus_fails.append(f"!({test})")
                    else:
                        branches.append(f"{{ {target} FILTER (!({test})) BIND ({n} AS ?_k) }}")
                elif c == SH.uniqueLang:
                    if str(o).lower() not in ("true", "1"):
                        continue
                    # one result per language used twice, as pySHACL reports it
                    branches.append(
                        f"{{ {target} ?this {p} ?_a, ?_b . FILTER (!sameTerm(?_a, ?_b) && lang(?_a) != \"\" "
                        f"&& LCASE(lang(?_a)) = LCASE(lang(?_b))) BIND (LCASE(lang(?_a)) AS ?_lang) "
                        f"BIND ({n} AS ?_k) }}")
                elif c == SH.equals:
                    q = to_sparql(o)
                    branches.append(
                        f"{{ {target} {{ ?this {p} ?value . FILTER NOT EXISTS {{ ?this {q} ?value }} }} UNION "
                        f"{{ ?this {q} ?value . FILTER NOT EXISTS {{ ?this {p} ?value }} }} BIND ({n} AS ?_k) }}")
                else:
                    test = self.count_test(c, o, "?this", p, positive=False)
                    if target:
                        focus_fails.append(test)
                    else:
                        branches.append(f"{{ {target} FILTER ({test}) BIND ({n} AS ?_k) }}")
        if not branches:
            return None, focus_fails
        return "SELECT DISTINCT ?this ?value ?_k ?_lang WHERE { " + " UNION ".join(branches) + " }", focus_fails


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


def _sparql_query(compiler: _Compiler, shape, constraint, target: str) -> tuple[str, bool]:
    """The constraint's SELECT with the target joined first in its WHERE group; and
    whether the query itself projects $this."""
    from .remote import tokens

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
    select = next(i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == "SELECT")
    where = next((i for i in range(select, len(toks)) if toks[i][1] == "{"), None)
    if where is None:
        raise Unsupported("no WHERE group")
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
    query = f"{head} {target} {text[toks[where][3]:]}"
    query = re.sub(r"\$this\b", "?this", query)
    return _prefixes(g, constraint) + query, projects_this


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


@dataclass(frozen=True)
class _FocusTest:
    check: Check  # the shape's fields, for its results
    fails: str  # a boolean expression on ?this


def _compile_shape(g, top) -> tuple[list[Check], list]:
    """The checks of one top-level shape, and its (target, _FocusTest) pairs."""
    compiler = _Compiler(g)
    target = compiler.targets(top)
    subjects_of = set(g.objects(top, SH.targetSubjectsOf))
    members = [(top, target)]
    # property shapes of a targeted node shape validate the same focus nodes
    members += [(prop, target) for prop in g.objects(top, SH.property)]
    out, tests = [], []
    for shape, tgt in members:
        if str(g.value(shape, SH.deactivated) or "").lower() in ("true", "1"):
            continue
        compiler.check_supported(shape)
        severity = g.value(shape, SH.severity) or SH.Violation
        messages = sorted(g.objects(shape, SH.message), key=str)
        path = g.value(shape, SH.path)
        label = str(g.value(shape, RDFS.label) or shape)
        base = dict(shape=shape, severity=severity, messages=messages, path=path,
                    is_property=path is not None, label=label)
        query, focus_fails = compiler.core_query(shape, tgt, subjects_of)
        if (query is not None or focus_fails) and not messages:
            raise Unsupported("no sh:message (pySHACL's generic messages are not reproduced)")
        if query is not None:
            out.append(Check(query=query, **base))
        tests += [(tgt, _FocusTest(Check(query="", **base), fails)) for fails in focus_fails]
        for constraint in g.objects(shape, SH.sparql):
            if str(g.value(constraint, SH.deactivated) or "").lower() in ("true", "1"):
                continue
            extra = sorted(g.objects(constraint, SH.message), key=str)
            if not messages and not extra:
                raise Unsupported("SHACL-SPARQL constraint without sh:message")
            text, projects_this = _sparql_query(compiler, shape, constraint, tgt)
            out.append(Check(query=text, extra_messages=extra, sparql=True, projects_this=projects_this, **base))
    return out, tests


def _format(message: str, bound: dict) -> str:
    """pySHACL's substitution of {?var} and {$var}, kept byte for byte (re.sub included)."""
    for var, val in bound.items():
        message = re.sub("{{[?$]{}}}".format(var), str(val), message)
    return message


def run_check(check: Check, select) -> list[Raw]:
    """Run one check through `select(query) -> rows of SPARQL JSON terms`."""
    rows = select(check.query)
    out = []
    if check.focus_tests:
        for row in rows:
            focus = to_rdflib(row["this"])
            for n, test in enumerate(check.focus_tests):
                flag = row.get(f"_f{n}")
                if flag is not None and flag["value"] in ("true", "1"):
                    out.append(Raw(focus, test.path, None, test.shape, test.severity,
                                   tuple(str(m) for m in test.messages)))
        return out
    if not check.sparql:
        for row in rows:
            focus = to_rdflib(row["this"])
            value = to_rdflib(row["value"]) if "value" in row else None
            messages = tuple(str(m) for m in check.messages)
            out.append(Raw(focus, check.path, value, check.shape, check.severity, messages))
        return out
    seen = set()
    for row in rows:
        bound = {k: to_rdflib(v) for k, v in row.items()}
        focus = bound.pop("this")
        t = focus if check.projects_this else None
        p = bound.pop("path", None)
        v = bound.pop("value", None)
        key = (focus, p, v, frozenset(bound.items()))
        if key in seen:
            continue
        seen.add(key)
        if v is None and not check.is_property:
            v = focus
        fdict = dict(bound)
        for name, term in (("this", t), ("path", p), ("value", v)):
            if term is not None:
                fdict[name] = term
        texts = [_format(str(m), fdict) for m in (*check.messages, *[m for m in check.extra_messages
                                                                      if m not in check.messages])]
        out.append(Raw(focus, p if p is not None else check.path, v, check.shape, check.severity, tuple(texts)))
    return out


# ------------------------------------------------------------------ the data, read lazily

class StoreGraph:
    """The few rdflib.Graph look-ups the report needs (which code a result is about, which
    member of an alternative path holds a value), answered by SELECTs on a store, so that
    remote data is never downloaded. A node's edges are fetched once each way, many
    nodes to a query. Blank nodes cannot be named across queries: they have no edges here."""

    BATCH = 200

    def __init__(self, store):
        self.store = store
        self.out = {}  # node -> {predicate: [objects]}
        self.into = {}  # node -> {predicate: [subjects]}

    def prefetch(self, nodes, incoming=True):
        """Fetch the nodes' outgoing edges, and with `incoming` the edges into them too
        (a code has many: ask for them only where they are followed)."""
        self._fetch(nodes, self.out, "SELECT ?n ?p ?o WHERE {{ {} ?n ?p ?o }}")
        if incoming:
            self._fetch(nodes, self.into, "SELECT ?n ?p ?o WHERE {{ {} ?o ?p ?n }}")

    def _fetch(self, nodes, edges, query):
        nodes = sorted({n for n in nodes if isinstance(n, rdflib.URIRef) and n not in edges}, key=str)
        for i in range(0, len(nodes), self.BATCH):
            chunk = nodes[i:i + self.BATCH]
            for n in chunk:
                edges[n] = {}
            values = "VALUES ?n { " + " ".join(to_sparql(n) for n in chunk) + " }"
            for row in self._rows(query.format(values)):
                edges[to_rdflib(row["n"])].setdefault(to_rdflib(row["p"]), []).append(to_rdflib(row["o"]))

    def _rows(self, query):
        return self.store.select(query, cap=10**9).rows

    def objects(self, s, p):
        if not isinstance(s, rdflib.URIRef):
            return []
        if s not in self.out:
            self.prefetch([s], incoming=False)
        return list(self.out[s].get(p, []))

    def subjects(self, p, o):
        if not isinstance(o, rdflib.URIRef):
            return []
        if o not in self.into:
            self._fetch([o], self.into, "SELECT ?n ?p ?o WHERE {{ {} ?o ?p ?n }}")
        return list(self.into[o].get(p, []))

    def value(self, s, p):
        found = self.objects(s, p)
        return found[0] if found else None

    def transitive_subjects(self, p, o):
        # a path takes no variable: predicate and object are written as serialized IRIs
        rows = self._rows(f"SELECT DISTINCT ?s WHERE {{ ?s {to_sparql(p)}* {to_sparql(o)} }}")
        return [to_rdflib(r["s"]) for r in rows if "s" in r]

    def __contains__(self, triple):
        s, p, o = triple
        return o in self.objects(s, p)
