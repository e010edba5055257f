"""The validation report: results as a coder reads them, in text, JSON and Turtle, filed by code.

`Report.as_dict()` / `to_json()` give {"conforms", "shacl_conforms", "engine", "fallback",
"results": [{severity, focus, path, message, shape, shape_label, value, component, code,
codes}], ...}; "conforms" is the exit policy (no violation; with strict, no warning),
"shacl_conforms" the report's sh:conforms (no result at all); `code`
is the notation of the code a result is about (the focus itself, or the code that points
at the statement node), so that results can be grouped by code.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import rdflib
from rdflib.namespace import RDF, RDFS, SH, SKOS

from ..namespaces import CR, ID
from .checks import Raw

CRN = rdflib.Namespace(CR)
SEVERITIES = ("Violation", "Warning", "Info")
# Properties from a code to its statement groups: a result about a statement is filed
# under the code that points at it.
_STATEMENT_LINKS = (
    CRN.bundledService, CRN.modifierUsage, CRN.indication, CRN.siteOfService,
    CRN.relation, CRN.scenario, CRN.benchmark,
)


@dataclass
class Report:
    """The outcome of one validation: results as dicts, and pySHACL's results graph."""

    results: list[dict]
    strict: bool = False
    files: list[str] = field(default_factory=list)
    triples: int = 0
    shapes: int = 0
    results_graph: rdflib.Graph | None = None
    engine: str = "pyshacl"
    # Or how to build it, when first asked (Turtle output only): the fast path's 55k results
    # at 1M triples took 22 s of rdflib adds, needed by no other output (measured).
    results_graph_builder: "Callable[[], rdflib.Graph] | None" = field(default=None, repr=False, compare=False)
    # shapes the fast path left to pySHACL: {shape IRI: what it could not translate}
    fallback: dict = field(default_factory=dict)

    @property
    def counts(self) -> dict:
        counts = dict.fromkeys(SEVERITIES, 0)
        for r in self.results:
            counts[r["severity"]] = counts.get(r["severity"], 0) + 1
        return counts

    @property
    def conforms(self) -> bool:
        """The exit policy: no violation; with strict, no warning either. Info never fails."""
        failing = ("Violation", "Warning") if self.strict else ("Violation",)
        return not any(r["severity"] in failing for r in self.results)

    @property
    def shacl_conforms(self) -> bool:
        """The report's sh:conforms, as SHACL defines it: no result of any severity."""
        return not self.results

    def by_code(self) -> dict:
        """Results grouped by code (or by the node's short name when no code applies),
        codes first in notation order, each group by severity."""
        groups = {}
        for r in self.results:
            groups.setdefault(r["code"] or r["node"], []).append(r)
        rank = {s: i for i, s in enumerate(SEVERITIES)}

        def group_order(key):
            return (groups[key][0]["code"] is None, key)

        return {
            key: sorted(groups[key], key=lambda r: (rank.get(r["severity"], 9), r["message"]))
            for key in sorted(groups, key=group_order)
        }

    def as_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "shacl_conforms": self.shacl_conforms,
            "strict": self.strict,
            "counts": self.counts,
            "triples": self.triples,
            "shapes": self.shapes,
            "files": self.files,
            "engine": self.engine,
            "fallback": self.fallback,
            "results": [{k: v for k, v in r.items() if k != "node"} for r in self.results],
        }

    def to_json(self, indent=None) -> str:
        return json.dumps(self.as_dict(), indent=indent, ensure_ascii=False)

    def shacl_graph(self) -> rdflib.Graph | None:
        """The SHACL validation report graph (pySHACL's, or the fast path's, built once)."""
        if self.results_graph is None and self.results_graph_builder is not None:
            self.results_graph = self.results_graph_builder()
        return self.results_graph

    def to_turtle(self) -> str:
        graph = rdflib.Graph()
        if self.shacl_graph() is not None:
            graph += self.results_graph
        # pySHACL (allow_warnings) says true beside warnings; SHACL says any result is not conforming
        for report in graph.subjects(RDF.type, SH.ValidationReport):
            graph.set((report, SH.conforms, rdflib.Literal(self.shacl_conforms)))
        graph.bind("sh", SH)
        graph.bind("cr", CRN)
        graph.bind("crsh", "https://w3id.org/coderef/shapes#")
        return graph.serialize(format="turtle")

    def summary(self) -> str:
        c = self.counts
        parts = [_plural(c["Violation"], "violation"), _plural(c["Warning"], "warning")]
        if c["Info"]:
            parts.append(_plural(c["Info"], "note"))
        verdict = "conforms" if self.conforms else "does not conform"
        if self.strict:
            verdict += " (strict: warnings count)"
        groups = len(self.by_code())
        text = (f"{', '.join(parts)} in {_plural(groups, 'item')}; "
                f"{_plural(len(self.files), 'file')}, {self.triples:,} triples, {_plural(self.shapes, 'rule')}: {verdict}")
        if self.fallback:
            names = ", ".join(_local(s) for s in sorted(self.fallback))
            text += f"\n{_plural(len(self.fallback), 'rule')} checked by pySHACL, not translated to SPARQL: {names}"
        return text

    def to_text(self) -> str:
        """A checklist a coder can work through, one block per code."""
        lines = []
        for key, results in self.by_code().items():
            lines.append(key)
            for r in results:
                lines.append(f"  [ ] {r['severity']}: {r['message']} (rule: {r['shape_label']}, {_local(r['shape'])})")
            lines.append("")
        lines.append(self.summary())
        return "\n".join(lines) + "\n"


def _plural(n, word):
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _local(iri):
    return str(iri).rsplit("#", 1)[-1].rsplit("/", 1)[-1] if iri else ""


def short_name(node) -> str:
    """id/... IRIs without the base ("statement/0584T-bundle-imaging"), vocabulary terms
    as cr:Term; anything else as is."""
    text = str(node)
    if text.startswith(ID):
        return text[len(ID):]
    if text.startswith(CR):
        return "cr:" + text[len(CR):]
    return text


class _Codes:
    """Which code(s) a node is about, read from the data graph."""

    def __init__(self, graph: rdflib.Graph):
        self.graph = graph
        self.code_classes = set(graph.transitive_subjects(RDFS.subClassOf, CRN.Code))

    def notation(self, node):
        if not isinstance(node, rdflib.URIRef):
            return None
        if not any(t in self.code_classes for t in self.graph.objects(node, RDF.type)):
            return None
        value = self.graph.value(node, SKOS.notation)
        return str(value) if value is not None else None

    def of(self, node, depth=0) -> list[str]:
        own = self.notation(node)
        if own:
            return [own]
        g, found = self.graph, set()
        owners = [s for p in _STATEMENT_LINKS for s in g.subjects(p, node)]
        owners += list(g.objects(node, CRN.appliesTo))
        owners += [c for pos in g.objects(node, CRN.position) for c in g.objects(pos, CRN.appliesTo)]
        owners += [c for sc in g.subjects(CRN.step, node) for c in g.subjects(CRN.scenario, sc)]
        for owner in owners:
            n = self.notation(owner)
            if n:
                found.add(n)
        if not found and depth == 0:
            for about in g.objects(node, CRN.about):
                found.update(self.of(about, depth=1))
        return sorted(found)


# The edges _Codes.of follows, out of a node and into it.
_OUT = (RDF.type, SKOS.notation, CRN.appliesTo, CRN.position, CRN.about)
_INTO = (*_STATEMENT_LINKS, CRN.step, CRN.scenario)


def _prefetch_codes(data, nodes, also=()):
    """Read, in a few batches, the edges _Codes.of follows from these nodes (rather than
    one query per node on the way): the nodes, what they are about, the policies'
    positions and the steps' scenarios, and the candidate owners; those edges only (and
    `also`: the properties of alternative paths, which _path_text reads at the nodes)."""
    nodes = list(nodes)
    out = (*_OUT, *also)
    data.prefetch(nodes, out=out, into=_INTO)
    about = [a for n in nodes for a in data.objects(n, CRN.about)]
    data.prefetch(about, out=_OUT, into=_INTO)
    nodes += about
    middle = [*(pos for n in nodes for pos in data.objects(n, CRN.position)),
              *(sc for n in nodes for sc in data.subjects(CRN.step, n))]
    data.prefetch(middle, out=_OUT, into=_INTO)
    owners = [s for n in nodes for p in _STATEMENT_LINKS for s in data.subjects(p, n)]
    owners += [c for n in [*nodes, *middle] for c in data.objects(n, CRN.appliesTo)]
    owners += [c for sc in middle for c in data.subjects(CRN.scenario, sc)]
    data.prefetch(owners, incoming=False, out=(RDF.type, SKOS.notation))  # only their type and notation are read


def _alternative_members(shapes, raws) -> set:
    """The properties of the results' alternative paths."""
    members = set()
    for path in {r.path for r in raws if r.path is not None and not isinstance(r.path, rdflib.URIRef)}:
        alternatives = shapes.value(path, SH.alternativePath)
        if alternatives is not None:
            members.update(p for p in rdflib.collection.Collection(shapes, alternatives) if isinstance(p, rdflib.URIRef))
    return members


def _path_text(shapes: rdflib.Graph, data: rdflib.Graph, path, focus, value):
    """The property a result is about: for an alternative path, the member that holds
    the value."""
    if path is None:
        return None
    if isinstance(path, rdflib.URIRef):
        return str(path)
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        members = list(rdflib.collection.Collection(shapes, alternatives))
        for p in members:
            if value is not None and (focus, p, value) in data:
                return str(p)
        return "|".join(short_name(p) for p in members)
    inverse = shapes.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + str(inverse)
    return None


def raw_results(results_graph) -> list:
    """pySHACL's results graph as Raw tuples, the form the fast path produces."""
    out = []
    g = results_graph
    # the results of the report, not those nested in them as sh:detail
    for r in g.objects(None, SH.result):
        out.append(Raw(
            focus=g.value(r, SH.focusNode), path=g.value(r, SH.resultPath), value=g.value(r, SH.value),
            shape=g.value(r, SH.sourceShape), severity=g.value(r, SH.resultSeverity),
            messages=tuple(str(m) for m in g.objects(r, SH.resultMessage)),
            component=g.value(r, SH.sourceConstraintComponent),
        ))
    return out


def _copy_path(source: rdflib.Graph, path, target: rdflib.Graph) -> None:
    """The triples of a SHACL path, read as the compiler reads it: a list (a sequence), or
    the first path property a node has; nothing else the node may carry."""
    if not isinstance(path, rdflib.BNode):
        return
    if source.value(path, RDF.first) is not None:
        node = path
        while isinstance(node, rdflib.BNode):
            first, rest = source.value(node, RDF.first), source.value(node, RDF.rest)
            target.add((node, RDF.first, first))
            target.add((node, RDF.rest, rest))
            _copy_path(source, first, target)
            node = rest
        return
    for prop in (SH.inversePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath, SH.alternativePath):
        inner = source.value(path, prop)
        if inner is not None:
            target.add((path, prop, inner))
            _copy_path(source, inner, target)
            return


def results_graph(raws, shapes: rdflib.Graph | None = None) -> rdflib.Graph:
    """A SHACL validation report graph of Raw results (the fast path's Turtle output);
    a path that is not an IRI is copied from `shapes`."""
    g = rdflib.Graph()
    report = rdflib.BNode()
    g.add((report, RDF.type, SH.ValidationReport))
    g.add((report, SH.conforms, rdflib.Literal(not raws)))
    for raw in raws:
        node = rdflib.BNode()
        g.add((report, SH.result, node))
        g.add((node, RDF.type, SH.ValidationResult))
        g.add((node, SH.focusNode, raw.focus))
        g.add((node, SH.sourceShape, raw.shape))
        g.add((node, SH.resultSeverity, raw.severity))
        if raw.value is not None:
            g.add((node, SH.value, raw.value))
        if raw.component is not None:
            g.add((node, SH.sourceConstraintComponent, raw.component))
        if isinstance(raw.path, rdflib.URIRef):
            g.add((node, SH.resultPath, raw.path))
        elif raw.path is not None and shapes is not None:
            g.add((node, SH.resultPath, raw.path))
            _copy_path(shapes, raw.path, g)
        for m in raw.messages:
            g.add((node, SH.resultMessage, rdflib.Literal(m)))
    return g


def result_dicts(raws, shapes: rdflib.Graph, data) -> list[dict]:
    """Report rows of Raw results; `data` is the rdflib data graph or a StoreGraph."""
    if hasattr(data, "prefetch"):
        _prefetch_codes(data, {r.focus for r in raws}, _alternative_members(shapes, raws))
    codes = _Codes(data)
    out = []
    for raw in raws:
        focus, value, shape, severity = raw.focus, raw.value, raw.shape, raw.severity
        path = _path_text(shapes, data, raw.path, focus, value)
        found = codes.of(focus)
        this = found[0] if codes.notation(focus) else short_name(focus)
        message = " ".join(sorted(raw.messages)) or f"{this}: breaks {_local(shape)}"
        # SHACL Core does not substitute message templates; the shapes rely on these two.
        message = message.replace("{$this}", this).replace("{?this}", this)
        if value is not None:
            message = message.replace("{$value}", str(value) if isinstance(value, rdflib.Literal) else short_name(value))
        out.append({
            "severity": _local(severity) if severity else "Violation",
            "focus": str(focus),
            "path": path,
            "message": message,
            "shape": str(shape) if isinstance(shape, rdflib.URIRef) else None,
            "shape_label": str(shapes.value(shape, RDFS.label) or _local(shape)),
            "value": None if value is None else str(value),
            "component": str(raw.component) if raw.component is not None else None,
            "code": found[0] if found else None,
            "codes": found,
            "node": short_name(focus),
        })
    # every field in the key: the same order however the rules were run (forked or not)
    out.sort(key=lambda d: (d["code"] or "~" + d["node"], SEVERITIES.index(d["severity"]) if d["severity"] in SEVERITIES else 9,
                            d["message"], d["focus"], d["path"] or "", d["value"] or "", d["shape"] or "",
                            d["component"] or ""))
    return out


def rule_count(shapes: rdflib.Graph) -> int:
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    return len({s for t in targets for s in shapes.subjects(t, None)})
