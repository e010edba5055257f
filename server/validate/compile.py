"""The compiler of SHACL Core: targets, paths and constraint components as SPARQL text.

What is translated, generically from the shapes graph:
- targets: sh:targetClass (with the data's rdfs:subClassOf closure), sh:targetNode,
  sh:targetSubjectsOf, sh:targetObjectsOf, implicit class targets, and sh:property of a
  targeted node shape;
- paths: predicate, inverse, sequence, alternative, zero-or-more, one-or-more, zero-or-one;
- SHACL Core: class, datatype, nodeKind, in, hasValue, pattern/flags, minLength,
  maxLength, min/maxInclusive/Exclusive, languageIn, uniqueLang, equals, disjoint,
  lessThan, lessThanOrEquals, closed/ignoredProperties, minCount and maxCount,
  qualifiedValueShape with qualifiedMin/MaxCount (and qualifiedValueShapesDisjoint), node,
  property (of node and property shapes), not, and, or, xone (nested shapes as boolean
  expressions; a count inside a nested shape up to 3).
Anything else raises Unsupported, and the caller checks that shape with pySHACL instead.
"""

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD

from .checks import Unsupported, to_sparql
from .vocabulary import AS_WRITTEN, CHECKED, INTEGER_RANGES, LEXICAL, RELEXED, as_written

# The constraint parameters this module understands; any other sh: predicate on a shape
# (other than these descriptive ones) makes the shape Unsupported.
_DESCRIPTIVE = {
    SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.severity,
    SH.message, SH.deactivated, SH.path, SH.name, SH.description, SH.order, SH.group,
    SH.defaultValue, SH.property, SH.sparql,
    SH.ignoredProperties, SH.qualifiedValueShape, SH.qualifiedValueShapesDisjoint,  # read with their component
}
_PER_VALUE = {
    SH["class"], SH.datatype, SH.nodeKind, SH["in"], SH.pattern, SH.flags, SH.minLength,
    SH.maxLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
    SH.languageIn, SH.node, SH["not"], SH["and"], SH["or"], SH.xone, SH.closed,
}
_PER_FOCUS = {SH.minCount, SH.maxCount, SH.hasValue, SH.uniqueLang, SH.equals, SH.disjoint, SH.lessThan,
              SH.lessThanOrEquals, SH.qualifiedMinCount, SH.qualifiedMaxCount}
_MAX_COUNTED = 3  # a count in a nested shape as "k distinct values exist"; larger ones fall back


def _true(o) -> bool:
    """A boolean parameter is on only when its value is true (the W3C suite: "1" is not)."""
    return str(o) == "true"


def value_of(v: str) -> str:
    """The value of a node for an order comparison: an as-written literal (xsd:int,
    xsd:dateTimeStamp, ...) by the value of its lexical form."""
    def ours(name):
        return to_sparql(rdflib.URIRef(AS_WRITTEN + name))

    value = (f"IF(DATATYPE({v}) = {ours('dateTimeStamp')}, {to_sparql(XSD.dateTime)}(STR({v})), "
             f"IF(DATATYPE({v}) = {ours('boolean')}, {to_sparql(XSD.boolean)}(STR({v})), "
             f"{to_sparql(XSD.integer)}(STR({v}))))")
    return f"IF(isLiteral({v}) && STRSTARTS(STR(DATATYPE({v})), {to_sparql(rdflib.Literal(AS_WRITTEN))}), {value}, {v})"
def _term_equality(term):
    """Unsupported for a typed literal other than a string or a boolean in its stored form:
    the store keeps "1.00"^^xsd:decimal as "1", so sameTerm there is not term equality on
    the forms as written (booleans are loaded as written when not so written: RELEXED)."""
    if isinstance(term, rdflib.Literal) and term.datatype in RELEXED and str(term) in RELEXED[term.datatype]:
        return
    if isinstance(term, rdflib.Literal) and term.datatype not in (None, XSD.string, RDF.langString):
        raise Unsupported(f"sh:in or sh:hasValue of the typed literal {term.n3()}: the store compares "
                          "such literals by value, not as written")


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

    def value_target(self, target: str, path) -> str:
        """A group binding ?this to each value, on `path`, of the focus nodes of `target`,
        once per focus node (?_outer): each is validated for each focus node it is a value of."""
        o = self.var("o")
        return (f"{{ SELECT DISTINCT ?this ?_outer WHERE {{ {{ SELECT (?this AS {o}) WHERE {{ {target} }} }} "
                f"{o} {self.path(path)} ?this BIND ({o} AS ?_outer) }} }}")

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
            return f"COALESCE({value_of(v)} {op} {to_sparql(o)}, false)"
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
        if p == SH.closed:
            if not _true(o):
                return "true"
            q, x = self.var("p"), self.var("o")
            return f"NOT EXISTS {{ {v} {q} {x} . FILTER ({self.not_allowed(shape, q)}) }}"
        raise Unsupported(f"constraint {p}")

    def not_allowed(self, shape, q: str) -> str:
        """Is the predicate in `q` one the closed shape does not allow? An expression."""
        allowed = [p for prop in self.g.objects(shape, SH.property) for p in [self.g.value(prop, SH.path)]
                   if isinstance(p, rdflib.URIRef)]
        ignored = self.g.value(shape, SH.ignoredProperties)
        allowed += self.items(ignored) if ignored is not None else []
        if not allowed:
            return "true"
        return f"!({q} IN ({', '.join(to_sparql(p) for p in sorted(set(allowed)))}))"

    def datatype_test(self, datatype, v: str) -> str:
        if datatype == RDFS.Literal:
            return f"isLiteral({v})"
        if datatype == RDF.langString:
            return f"(isLiteral({v}) && lang({v}) != \"\")"
        if datatype == XSD.string:
            return f"(isLiteral({v}) && datatype({v}) = {to_sparql(XSD.string)})"
        written = as_written(datatype)
        if written is not None:  # as written in the file, or kept so (ill-typed) by the store
            name = str(datatype)[len(str(XSD)):]
            test = (f"(isLiteral({v}) && (datatype({v}) = {to_sparql(written)} || datatype({v}) = {to_sparql(datatype)}) "
                    f"&& REGEX(STR({v}), {to_sparql(rdflib.Literal(LEXICAL[datatype]))})")
            if name in INTEGER_RANGES:
                low, high = INTEGER_RANGES[name]
                bounds = [f"{to_sparql(XSD.integer)}(STR({v})) {op} {b}" for op, b in ((">=", low), ("<=", high))
                          if b is not None]
                test += f" && COALESCE({' && '.join(bounds)}, false)"
            else:  # a date and time that exists
                cast = f"{to_sparql(XSD.dateTime)}(STR({v}))"
                test += f" && COALESCE(sameTerm({cast}, {cast}), false)"
            return test + ")"
        test = f"(isLiteral({v}) && datatype({v}) = {to_sparql(datatype)})"
        if datatype in RELEXED:  # also as written in another form ("1"^^xsd:boolean)
            ours = to_sparql(rdflib.URIRef(AS_WRITTEN + str(datatype)[len(str(XSD)):]))
            test = f"(isLiteral({v}) && (datatype({v}) = {to_sparql(datatype)} || datatype({v}) = {ours}))"
        if datatype in CHECKED:
            # an ill-typed literal (a 13th month) has the datatype but fails the cast
            cast = f"{to_sparql(datatype)}(STR({v}))"
            test = f"({test} && COALESCE(sameTerm({cast}, {cast}), false))"
        elif datatype in LEXICAL:
            test = f"({test} && REGEX(STR({v}), {to_sparql(rdflib.Literal(LEXICAL[datatype]))}))"
        return test

    def conforms(self, shape, v: str) -> str:
        """Does the node in `v` conform to the (nested) shape? A boolean expression."""
        self.check_supported(shape, nested=True)
        path = self.g.value(shape, SH.path)
        if path is None:
            tests = [self.value_test(shape, v)]
            for p, o in self.g.predicate_objects(shape):
                if p in _PER_FOCUS:
                    tests.append(self.node_focus_test(p, o, v, shape))
            for prop in self.g.objects(shape, SH.property):
                tests.append(self.conforms(prop, v))
            return " && ".join(f"({t})" for t in tests)
        p = self.path(path)
        tests = []
        w = self.var("w")
        per_value = self.value_test(shape, w)
        for prop in self.g.objects(shape, SH.property):  # each value node conforms to it
            per_value = f"({per_value}) && ({self.conforms(prop, w)})"
        if per_value != "true":
            tests.append(f"NOT EXISTS {{ {v} {p} {w} . FILTER (!({per_value})) }}")
        for c, o in self.g.predicate_objects(shape):
            if c in _PER_FOCUS:
                tests.append(self.count_test(c, o, v, p, positive=True, shape=shape))
        return " && ".join(f"({t})" for t in tests) or "true"

    def node_focus_test(self, c, o, v: str, shape=None) -> str:
        """A per-focus constraint on a node shape: its value node is the focus itself."""
        if c == SH.hasValue:
            _term_equality(o)
            return f"sameTerm({v}, {to_sparql(o)})"
        if c == SH.minCount:
            return "true" if int(o) <= 1 else "false"
        if c == SH.maxCount:
            return "true" if int(o) >= 1 else "false"
        if c == SH.equals:
            a = self.var("w")
            return (f"(NOT EXISTS {{ {v} {to_sparql(o)} {a} . FILTER (!sameTerm({a}, {v})) }} && "
                    f"EXISTS {{ {v} {to_sparql(o)} {v} }})")
        if c == SH.disjoint:
            return f"NOT EXISTS {{ {v} {to_sparql(o)} {v} }}"
        if c == SH.uniqueLang:
            return "true"
        if c in (SH.qualifiedMinCount, SH.qualifiedMaxCount):  # the focus is the only value node
            if self.g.value(shape, SH.qualifiedValueShape) is None:
                return "true"
            conforming = self.qualified_test(shape)(v)
            if c == SH.qualifiedMinCount:
                return "true" if int(o) <= 0 else conforming if int(o) == 1 else "false"
            return "true" if int(o) >= 1 else f"!({conforming})"
        raise Unsupported(f"{c} on a node shape")

    def distinct_values(self, v, p, k, test=None) -> str:
        """A pattern: the focus has at least k distinct values on the path (that pass
        `test(var) -> expression`)."""
        ws = [self.var("w") for _ in range(k)]
        triples = " ".join(f"{v} {p} {w} ." for w in ws)
        different = [f"!sameTerm({a}, {b})" for i, a in enumerate(ws) for b in ws[i + 1:]]
        if test is not None:
            different += [f"({test(w)})" for w in ws]
        filt = f" FILTER ({' && '.join(different)})" if different else ""
        return triples + filt

    def count_test(self, c, o, v, p, positive: bool, shape=None) -> str:
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
            if not _true(o):
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
        if c == SH.disjoint:
            a = self.var("w")
            holds = f"NOT EXISTS {{ {v} {p} {a} . {v} {to_sparql(o)} {a} }}"
            return holds if positive else f"!({holds})"
        if c in (SH.lessThan, SH.lessThanOrEquals):
            a, b = self.var("w"), self.var("w")
            holds = f"NOT EXISTS {{ {v} {p} {a} . {v} {to_sparql(o)} {b} FILTER ({self.not_less(c, a, b)}) }}"
            return holds if positive else f"!({holds})"
        if c in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
            if self.g.value(shape, SH.qualifiedValueShape) is None:
                return "true" if positive else "false"
            k = int(o) if c == SH.qualifiedMinCount else int(o) + 1
            if k > _MAX_COUNTED + 1 or (c == SH.qualifiedMinCount and k > _MAX_COUNTED):
                raise Unsupported(f"{c} {o} in a nested shape: counts above {_MAX_COUNTED}")
            if k <= 0:
                return "true" if positive else "false"
            exists = f"EXISTS {{ {self.distinct_values(v, p, k, self.qualified_test(shape))} }}"
            holds = exists if c == SH.qualifiedMinCount else f"!{exists}"
            return holds if positive else f"!({holds})"
        raise Unsupported(f"constraint {c}")

    def not_less(self, c, a: str, b: str) -> str:
        op = "<" if c == SH.lessThan else "<="
        return f"!COALESCE({value_of(a)} {op} {value_of(b)}, false)"

    def qualified_test(self, shape):
        """test(var) -> does the value conform to the shape's sh:qualifiedValueShape (and,
        with sh:qualifiedValueShapesDisjoint, to none of its siblings')?"""
        g = self.g
        qvs = g.value(shape, SH.qualifiedValueShape)
        if qvs is None:
            raise Unsupported(f"sh:qualifiedMinCount or sh:qualifiedMaxCount without sh:qualifiedValueShape on {shape}")
        siblings = []
        if _true(g.value(shape, SH.qualifiedValueShapesDisjoint)):
            siblings = sorted({g.value(s, SH.qualifiedValueShape) for parent in g.subjects(SH.property, shape)
                               for s in g.objects(parent, SH.property) if s != shape} - {None}, key=str)
        return lambda w: " && ".join([f"({self.conforms(qvs, w)})",
                                      *(f"!({self.conforms(s, w)})" for s in siblings)])

    def check_supported(self, shape, nested=False):
        predicates = set(self.g.predicates(shape))
        if SH.sparql in predicates and nested:
            raise Unsupported("sh:sparql in a nested shape")
        # Every untranslated term, in a stable order: the reason the report gives is repeatable.
        if (shape, SH.sparql, shape) in self.g:  # the shape is its own SHACL-SPARQL constraint
            predicates -= {SH.select, SH.prefixes}
        unknown = sorted(self.g.qname(p) for p in predicates
                         if str(p).startswith(str(SH)) and p not in _DESCRIPTIVE | _PER_VALUE | _PER_FOCUS)
        if unknown:
            raise Unsupported(", ".join(unknown))
        for p in sorted(predicates, key=str) if nested else ():
            # a parameter of a SPARQL-based constraint component, in a nested shape
            for made in (m for declared in self.g.subjects(SH.path, p) for m in self.g.subjects(SH.parameter, declared)):
                raise Unsupported(f"{self.g.qname(p)}, a parameter of the SPARQL-based constraint "
                                  f"component {self.g.qname(made)}, in a nested shape")
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
            if c == SH.closed:
                if _true(o):  # a result per triple of a predicate not allowed: its predicate is the path
                    node = f"?this {p} ?_node ." if p else "BIND (?this AS ?_node)"
                    branches.append(f"{{ {value_target} {node} ?_node ?_path ?value . "
                                    f"FILTER ({self.not_allowed(shape, '?_path')}) BIND ({n} AS ?_k) }}")
            elif c in _PER_VALUE and c != SH.flags:
                v = "?value"
                test = self.one_test(shape, c, o, v)
                values = f"?this {p} ?value ." if p else "BIND (?this AS ?value)"
                branches.append(f"{{ {value_target} {values} FILTER (!({test})) BIND ({n} AS ?_k) }}")
            elif c in _PER_FOCUS:
                if p is None and c in (SH.equals, SH.disjoint):  # the focus is the value node
                    q = to_sparql(o)
                    bodies = [f"?this {q} ?this . BIND (?this AS ?value)"]
                    if c == SH.equals:
                        bodies = [f"?this {q} ?value . FILTER (!sameTerm(?value, ?this))",
                                  f"FILTER NOT EXISTS {{ ?this {q} ?this }} BIND (?this AS ?value)"]
                    branches += [f"{{ {target} {body} BIND ({n} AS ?_k) }}" for body in bodies]
                elif p is None:
                    test = self.node_focus_test(c, o, "?this", shape)
                    if target:
                        focus_fails.append((f"!({test})", c, o))
                    else:
                        branches.append(f"{{ {target} FILTER (!({test})) BIND ({n} AS ?_k) }}")
                elif c == SH.uniqueLang:
                    if not _true(o):
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
                elif c == SH.disjoint:
                    branches.append(f"{{ {target} ?this {p} ?value . ?this {to_sparql(o)} ?value BIND ({n} AS ?_k) }}")
                elif c in (SH.lessThan, SH.lessThanOrEquals):  # a result per pair
                    branches.append(f"{{ {target} ?this {p} ?value . ?this {to_sparql(o)} ?_pair "
                                    f"FILTER ({self.not_less(c, '?value', '?_pair')}) BIND ({n} AS ?_k) }}")
                elif c in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
                    if not target or g.value(shape, SH.qualifiedValueShape) is None:
                        continue
                    conforming = self.qualified_test(shape)("?_q")
                    fails = f"?_n < {int(o)}" if c == SH.qualifiedMinCount else f"?_n > {int(o)}"
                    branches.append(f"{{ {{ SELECT ?this (COUNT(DISTINCT ?_q) AS ?_n) WHERE {{ {target} OPTIONAL "
                                    f"{{ ?this {p} ?_q . FILTER ({conforming}) }} }} GROUP BY ?this }} "
                                    f"FILTER ({fails}) BIND ({n} AS ?_k) }}")
                else:
                    test = self.count_test(c, o, "?this", p, positive=False)
                    if target:
                        focus_fails.append((test, c, o))
                    else:
                        branches.append(f"{{ {target} FILTER ({test}) BIND ({n} AS ?_k) }}")
        if not branches:
            return None, focus_fails, failed_by
        return ("SELECT DISTINCT ?this ?value ?_k ?_lang ?_path ?_pair ?_outer WHERE { " + " UNION ".join(branches) + " }",
                focus_fails, failed_by)
