"""The compiler of SHACL Core: targets, paths and constraint components as SPARQL text.

What is translated, generically from the shapes graph:
- targets: sh:targetClass (with the data's rdfs:subClassOf closure), sh:targetNode,
  sh:targetSubjectsOf, sh:targetObjectsOf, implicit class targets, and sh:property of a
  targeted node shape;
- paths: predicate, inverse, sequence, alternative, zero-or-more, one-or-more, zero-or-one;
- SHACL Core: class, datatype, nodeKind, in, hasValue, pattern/flags, minLength,
  maxLength, min/maxInclusive/Exclusive, languageIn, uniqueLang, equals, minCount and
  maxCount (up to 3), node, not, and, or, xone (nested shapes as boolean expressions).
Anything else raises Unsupported, and the caller checks that shape with pySHACL instead.
"""

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD

from .checks import Unsupported, to_sparql

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
# Datatypes a literal of which is well-formed when Oxigraph can cast it (pySHACL, through
# rdflib's parsers, checks fewer: "20x6"^^xsd:gYear passes there).
_CHECKED = {
    XSD.boolean, XSD.integer, XSD.decimal, XSD.float, XSD.double, XSD.date, XSD.dateTime, XSD.time,
    XSD.gYear, XSD.gYearMonth, XSD.gMonth, XSD.gDay, XSD.gMonthDay, XSD.duration, XSD.dayTimeDuration,
    XSD.yearMonthDuration,
}
# The lexical spaces of the XSD datatypes Oxigraph does not cast, as regular expressions
# (SHACL: a literal whose lexical form is not in its datatype's is ill-typed, and fails
# sh:datatype). The types derived from xsd:integer are here for a store whose data was not
# read from files: one loaded by this engine from files that have them is checked by pySHACL
# (server/validate/lexical.py).
_NAME = "[A-Za-z_:][A-Za-z0-9_:.\\-]*"
_LEXICAL = {
    XSD.hexBinary: "^([0-9A-Fa-f]{2})*$",
    XSD.base64Binary: "^(([A-Za-z0-9+/] ?){4})*(([A-Za-z0-9+/] ?){3}[A-Za-z0-9+/]|([A-Za-z0-9+/] ?){2}"
                      "[AEIMQUYcgkosw048] ?=|[A-Za-z0-9+/] ?[AQgw] ?= ?=)?$",
    XSD.language: "^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$",
    XSD.Name: f"^{_NAME}$",
    XSD.NCName: "^[A-Za-z_][A-Za-z0-9_.\\-]*$",
    XSD.NMTOKEN: "^[A-Za-z0-9_:.\\-]+$",
    XSD.token: "^([^\\s]+( [^\\s]+)*)?$",
    XSD.normalizedString: "^[^\\n\\r\\t]*$",
    **{XSD[name]: "^[+-]?[0-9]+$" for name in (
        "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
        "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte")},
}


def _term_equality(term):
    """Unsupported for a typed literal other than a string: the store keeps "1.00"^^xsd:decimal
    as "1", so sameTerm there is not term equality on the forms as written."""
    if isinstance(term, rdflib.Literal) and term.datatype not in (None, XSD.string, RDF.langString):
        raise Unsupported(f"sh:in or sh:hasValue of the typed literal {term.n3()}: the store compares "
                          "such literals by value, not as written")


def component(parameter) -> rdflib.URIRef:
    """The SHACL Core constraint component of a parameter (sh:minCount: sh:MinCountConstraintComponent)."""
    name = str(parameter)[len(str(SH)):]
    return SH[name[0].upper() + name[1:] + "ConstraintComponent"]


def default_message(g: rdflib.Graph, c, o, path=None) -> str:
    """The message of a result whose shape has no sh:message, worded as pySHACL words it
    where that is short ({$this} is filled in by the report)."""
    def name(term):
        if isinstance(term, rdflib.URIRef):
            try:
                return g.namespace_manager.normalizeUri(term)
            except (ValueError, KeyError):  # no prefix for it
                return f"<{term}>"
        return str(term)

    on = f"{{$this}}->{name(path)}" if isinstance(path, rdflib.URIRef) else "{$this}"
    texts = {
        SH["class"]: f"Value does not have class {name(o)}",
        SH.datatype: f"Value is not Literal with datatype {name(o)}",
        SH.nodeKind: f"Value is not of Node Kind {name(o)}",
        SH["in"]: "Value is not in the list of allowed values",
        SH.pattern: f"Value does not match pattern '{o}'",
        SH.minLength: f"String length not >= {o}",
        SH.maxLength: f"String length not <= {o}",
        SH.minInclusive: f"Value is not >= {o}",
        SH.maxInclusive: f"Value is not <= {o}",
        SH.minExclusive: f"Value is not > {o}",
        SH.maxExclusive: f"Value is not < {o}",
        SH.languageIn: "String language is not in the allowed languages",
        SH.node: f"Value does not conform to Shape {name(o)}",
        SH["not"]: f"Value conforms to Shape {name(o)}, which it must not",
        SH["and"]: "Value does not conform to all of the shapes of sh:and",
        SH["or"]: "Value does not conform to any of the shapes of sh:or",
        SH.xone: "Value does not conform to exactly one of the shapes of sh:xone",
        SH.minCount: f"Less than {o} values on {on}",
        SH.maxCount: f"More than {o} values on {on}",
        SH.hasValue: f"Node {on} does not have value {name(o)}",
        SH.uniqueLang: "More than one String shares the same Language",
        SH.equals: f"Value of {on} != {name(o)}",
    }
    return texts.get(c, f"Value breaks {name(component(c))}")


class Compiler:
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
            for m in members:
                _term_equality(m)
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
        elif datatype in _LEXICAL:
            test = f"({test} && REGEX(STR({v}), {to_sparql(rdflib.Literal(_LEXICAL[datatype]))}))"
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
            _term_equality(o)
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
            if k <= 0:  # sh:minCount 0 holds for every focus node
                return "true" if positive else "false"
            exists = f"EXISTS {{ {self.distinct_values(v, p, k)} }}"
            holds = exists if c == SH.minCount else f"!{exists}"
            return holds if positive else f"!({holds})"
        if c == SH.hasValue:
            _term_equality(o)
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
        if SH.path in predicates and SH.property in predicates:
            raise Unsupported("sh:property of a property shape")
        # a parameter of a SPARQL-based constraint component the shapes graph declares
        for p in sorted(predicates, key=str):
            if str(p).startswith(str(SH)):
                continue
            for declared in self.g.subjects(SH.path, p):
                for made in self.g.subjects(SH.parameter, declared):
                    raise Unsupported(f"{self.g.qname(p)}, a parameter of the SPARQL-based constraint "
                                      f"component {self.g.qname(made)}")
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

    def core_query(self, shape, target: str, subjects_of=frozenset()) -> tuple[str | None, list, dict]:
        """One SELECT for the SHACL Core constraints of a top-level shape that look at
        values: rows (?this ?value ?_k), ?_k naming the component that failed; and, as
        boolean expressions on ?this that hold when it fails, the constraints on the focus
        node as a whole (counts, sh:hasValue), which compile_shapes tests in one pass over
        the focus nodes for every shape with the same target. `subjects_of`: the
        sh:targetSubjectsOf predicates of the top-level shape. Also {?_k: (component,
        parameter value)}; a focus test is (expression, component, parameter value)."""
        g = self.g
        path = g.value(shape, SH.path)
        branches, focus_fails, failed_by = [], [], {}
        p = self.path(path) if path is not None else None
        # A node with a value on a path of such predicates is a focus node already: the
        # values need no join with the target (at 1M triples the date rule took 1.0 s with
        # it, 0.5 s without).
        own = self._predicates(path)
        value_target = "" if own and own <= set(subjects_of) else target
        for n, (c, o) in enumerate(sorted(g.predicate_objects(shape), key=lambda po: (str(po[0]), str(po[1])))):
            if c in _PER_VALUE or c in _PER_FOCUS:
                failed_by[n] = (c, o)
            if c in _PER_VALUE and c != SH.flags:
                v = "?value"
                test = self.one_test(shape, c, o, v)
                values = f"?this {p} ?value ." if p else "BIND (?this AS ?value)"
                branches.append(f"{{ {value_target} {values} FILTER (!({test})) BIND ({n} AS ?_k) }}")
            elif c in _PER_FOCUS:
                if p is None:
                    test = self.node_focus_test(c, o, "?this")
                    if target:
                        focus_fails.append((f"!({test})", c, o))
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
                        focus_fails.append((test, c, o))
                    else:
                        branches.append(f"{{ {target} FILTER ({test}) BIND ({n} AS ?_k) }}")
        if not branches:
            return None, focus_fails, failed_by
        return ("SELECT DISTINCT ?this ?value ?_k ?_lang WHERE { " + " UNION ".join(branches) + " }",
                focus_fails, failed_by)
