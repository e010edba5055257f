"""SHACL validation: the reference (ontology/ + data/) against shapes/.

    validate(data_paths=None, shape_paths=None, settings=None, strict=False, progress=None,
             engine="fast", store=None, jobs=1) -> Report

Two engines, one report:
- "fast" (default): shacl_sparql compiles every shape to one SPARQL SELECT and runs it on
  a store: an in-memory Oxigraph store of the files, or, when no data_paths are given and
  SPARQL_ENDPOINT is set, the remote endpoint itself (the data is not downloaded). A shape
  it cannot translate is checked by pySHACL, and `Report.fallback` says which and why.
- "pyshacl": the reference engine, on rdflib graphs. The differential test
  (tests/test_validation_engine.py) holds the two to the same results.

- `data_paths`: files or folders of Turtle (default: config.data_files, i.e. ontology/ and
  data/). The ontology files are always added: SHACL's class targets and sh:class follow
  rdfs:subClassOf triples *in the data graph*, so a cr:ProcedureCode is only a cr:Code if
  the ontology is in it. We merge it into the data graph rather than pass it as pySHACL's
  ont_graph (which is merged into a copy of the data graph anyway), and run no RDFS
  inference: rdfs:range entailment would type a mistyped diagnosis IRI as a
  cr:DiagnosisCode and hide exactly the errors the shapes look for.
- `shape_paths`: files or folders of shapes (default: config.shape_files).
- `strict`: warnings also break conformance.
- `jobs`: on the fast path, with files read into a store of its own, check the rules in up
  to this many forked processes (the store is shared copy-on-write; a query holds the GIL, so
  threads would not help), the costliest first. Only for graphs of PARALLEL_FROM triples
  or more, and never by default: a process serving threads (the web view) must not fork. `coderef validate`
  passes the number of CPUs (--jobs).

Every file is first read by Oxigraph, whose errors name file and line (DataError, exit 2);
the fast path loads it straight into its store (no Python object per triple). pySHACL's data is parsed again by rdflib: data and shapes must come
from one parser, since Oxigraph types plain literals xsd:string and rdflib does not (the
fast path reads results back as rdflib terms without that type). Oxigraph also stores
valid numbers and dates by value ("-1.00"^^xsd:decimal reads back as "-1"), so both
engines' reports show literal values in that canonical form.

`report_for(settings)` memoises the report of the served data for the web view.
`Report.as_dict()` / `to_json()` give {"conforms", "engine", "fallback",
"results": [{severity, focus, path, message, shape, shape_label, value, code, codes}],
...}; `code` is the notation of the code a result is about (the focus itself, or the code
that points at the statement node), so that results can be grouped by code.
"""

import json
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from rdflib.namespace import RDF, RDFS, SH, SKOS

from . import config as cfg
from .errors import ConfigError, DataError
from .graph import load_store, parse_file
from .namespaces import CR, ID
from .shacl_sparql import (Raw, StoreGraph, canonical, compile_shapes, run_check, to_rdflib,
                           top_level_shapes)

__all__ = ["validate", "Report", "report_for", "register_cli", "SEVERITIES"]

CRN = rdflib.Namespace(CR)
SEVERITIES = ("Violation", "Warning", "Info")
_RDFLIB_FORMATS = {".ttl": "turtle", ".nt": "nt", ".trig": "trig", ".rdf": "xml", ".jsonld": "json-ld"}
# Properties from a code to its statement groups: a result about a statement is filed
# under the code that points at it.
_STATEMENT_LINKS = (
    CRN.bundledService, CRN.modifierUsage, CRN.indication, CRN.siteOfService,
    CRN.relation, CRN.scenario, CRN.benchmark,
)


# ------------------------------------------------------------------ parse SHACL-SPARQL once

def _parse_sparql_once():
    """pySHACL re-parses a SHACL-SPARQL query's text for every focus node: about 97% of its
    time on our rules (measurements.md). The text is the same for every focus node, only
    the initial bindings differ, so we hand rdflib a query prepared once per text."""
    try:
        from pyshacl.constraints.sparql.sparql_based_constraints import SPARQLBasedConstraint
        from rdflib.plugins.sparql import prepareQuery
    except ImportError:  # another pySHACL layout: stay correct, only slower
        return
    original = getattr(SPARQLBasedConstraint, "_validate_sparql_query", None)
    if original is None or getattr(original, "coderef_prepared", False):
        return
    prepared = {}

    def _validate_sparql_query(self, query, init_binds, target_graph):
        if isinstance(query, str):
            if query not in prepared:
                if len(prepared) > 1024:
                    prepared.clear()
                prepared[query] = prepareQuery(query)
            query = prepared[query]
        return original(self, query, init_binds, target_graph)

    _validate_sparql_query.coderef_prepared = True
    SPARQLBasedConstraint._validate_sparql_query = _validate_sparql_query


# ------------------------------------------------------------------ files

def expand(paths) -> list[Path]:
    """Files as given; folders as their Turtle files (recursively, without examples/)."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.ttl") if "examples" not in p.relative_to(path).parts)
        else:
            files.append(path)  # parse_file reports a missing one with its name
    unique, seen = [], set()
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def load_graph(paths, progress=None) -> rdflib.Graph:
    """One rdflib graph of all files; DataError with file and line on the first bad one."""
    graph = rdflib.Graph()
    paths = list(paths)
    for n, path in enumerate(paths, 1):
        parse_file(path)  # Oxigraph's check: the error names the line
        try:
            graph.parse(str(path), format=_RDFLIB_FORMATS.get(path.suffix.lower(), "turtle"))
        except Exception as err:  # rdflib's parsers raise many types; all mean "unreadable"
            raise DataError(path, getattr(err, "lineno", None), f"rdflib could not read it: {err}") from None
        if progress:
            progress(n, len(paths), path)
    return graph


# ------------------------------------------------------------------ report

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
        """No violation; with strict, no warning either. Info never fails."""
        failing = ("Violation", "Warning") if self.strict else ("Violation",)
        return not any(r["severity"] in failing for r in self.results)

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

    def to_turtle(self) -> str:
        graph = self.results_graph if self.results_graph is not None else rdflib.Graph()
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


def _prefetch_codes(data, nodes):
    """Read, in a few batches, the edges _Codes.of follows from these nodes (rather than
    one query per node on the way): the nodes, what they are about, the policies'
    positions and the steps' scenarios, and the candidate owners."""
    nodes = list(nodes)
    data.prefetch(nodes)
    about = [a for n in nodes for a in data.objects(n, CRN.about)]
    data.prefetch(about)
    nodes += about
    middle = [*(pos for n in nodes for pos in data.objects(n, CRN.position)),
              *(sc for n in nodes for sc in data.subjects(CRN.step, n))]
    data.prefetch(middle)
    owners = [s for n in nodes for p in _STATEMENT_LINKS for s in data.subjects(p, n)]
    owners += [c for n in [*nodes, *middle] for c in data.objects(n, CRN.appliesTo)]
    owners += [c for sc in middle for c in data.subjects(CRN.scenario, sc)]
    data.prefetch(owners, incoming=False)  # only their type and notation are read


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


def _raw_results(results_graph) -> list:
    """pySHACL's results graph as Raw tuples, the form the fast path produces."""
    out = []
    g = results_graph
    for r in g.subjects(RDF.type, SH.ValidationResult):
        out.append(Raw(
            focus=g.value(r, SH.focusNode), path=g.value(r, SH.resultPath), value=g.value(r, SH.value),
            shape=g.value(r, SH.sourceShape), severity=g.value(r, SH.resultSeverity),
            messages=tuple(str(m) for m in g.objects(r, SH.resultMessage)),
        ))
    return out


def _results_graph(raws) -> rdflib.Graph:
    """A SHACL validation report graph of Raw results (the fast path's Turtle output)."""
    g = rdflib.Graph()
    report = rdflib.BNode()
    g.add((report, RDF.type, SH.ValidationReport))
    g.add((report, SH.conforms, rdflib.Literal(not any(r.severity == SH.Violation for r in raws))))
    for raw in raws:
        node = rdflib.BNode()
        g.add((report, SH.result, node))
        g.add((node, RDF.type, SH.ValidationResult))
        g.add((node, SH.focusNode, raw.focus))
        g.add((node, SH.sourceShape, raw.shape))
        g.add((node, SH.resultSeverity, raw.severity))
        if raw.value is not None:
            g.add((node, SH.value, raw.value))
        if isinstance(raw.path, rdflib.URIRef):
            g.add((node, SH.resultPath, raw.path))
        for m in raw.messages:
            g.add((node, SH.resultMessage, rdflib.Literal(m)))
    return g


def _results(raws, shapes: rdflib.Graph, data) -> list[dict]:
    """Report rows of Raw results; `data` is the rdflib data graph or a StoreGraph."""
    if hasattr(data, "prefetch"):
        _prefetch_codes(data, {r.focus for r in raws})
    codes = _Codes(data)
    out = []
    for raw in raws:
        focus, value, shape, severity = raw.focus, canonical(raw.value), raw.shape, raw.severity
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
            "code": found[0] if found else None,
            "codes": found,
            "node": short_name(focus),
        })
    # every field in the key: the same order however the rules were run (forked or not)
    out.sort(key=lambda d: (d["code"] or "~" + d["node"], SEVERITIES.index(d["severity"]) if d["severity"] in SEVERITIES else 9,
                            d["message"], d["focus"], d["path"] or "", d["value"] or "", d["shape"] or ""))
    return out


def _rule_count(shapes: rdflib.Graph) -> int:
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
    return len({s for t in targets for s in shapes.subjects(t, None)})


# ------------------------------------------------------------------ validate

ENGINES = ("fast", "pyshacl")


def validate(data_paths=None, shape_paths=None, settings=None, strict=False, progress=None,
             engine="fast", store=None, jobs=1, keep=None) -> Report:
    """Validate data against shapes; see the module docstring. `progress(n, total, item)`
    is called per file read and, on the fast path, per rule checked.

    `engine`: "fast" (shapes compiled to SPARQL, run on a store; pySHACL only for shapes it
    cannot translate) or "pyshacl" (the reference). `store`: validate the data of this
    store (anything with `select`) instead of files; without it and without data_paths,
    the fast path validates the configured SPARQL endpoint when there is one. `keep`: a
    list the fast path appends the store it loaded to, for a caller that exits without
    freeing it (a 1M-triple store takes ~0.7 s to free)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown validation engine {engine!r}; use one of {', '.join(ENGINES)}")
    settings = cfg.resolve(settings)
    ontology = sorted(cfg.folder(settings, "ONTOLOGY_DIR").glob("*.ttl"))
    data_files = cfg.data_files(settings) if data_paths is None else expand([*ontology, *data_paths])
    shape_files = cfg.shape_files(settings) if shape_paths is None else expand(shape_paths)
    if not shape_files:
        raise ConfigError(f"no shapes to validate against (looked in {cfg.folder(settings, 'SHAPES_DIR')})")
    if engine == "fast" and store is None and data_paths is None and settings.get("SPARQL_ENDPOINT"):
        from .stores import open_store

        store = open_store(settings)
    if engine == "pyshacl":
        return _validate_pyshacl(data_files, shape_files, strict, progress)
    return _validate_fast(data_files, shape_files, settings, strict, progress, store, jobs, keep)


_shapes_lock = threading.Lock()
_shapes_cache: dict = {}


def _shapes(shape_files, progress=None, offset=0, total=0):
    """The shapes graph and its compiled checks, parsed and compiled once per version of
    the files (the web view, the CLI and the tests validate against the same shapes over
    and over). Callers must not change the graph."""
    key = _fingerprint(shape_files)
    with _shapes_lock:
        cached = _shapes_cache.get(key)
    if cached is None:
        shapes = load_graph(shape_files)
        cached = (shapes, *compile_shapes(shapes))
        with _shapes_lock:
            if len(_shapes_cache) > 16:
                _shapes_cache.clear()
            _shapes_cache[key] = cached
    if progress:
        for n, path in enumerate(shape_files, 1):
            progress(offset + n, total, path)
    return cached


def _run_pyshacl(data: rdflib.Graph, shapes: rdflib.Graph, shape_files) -> rdflib.Graph:
    # imported here: the fast path needs pySHACL only for rules it does not translate
    import pyshacl

    _parse_sparql_once()

    try:
        _, results_graph, _ = pyshacl.validate(
            data, shacl_graph=shapes, inference="none", advanced=False, inplace=True,
            allow_warnings=True, abort_on_first=False, meta_shacl=False, debug=False,
        )
    except Exception as err:  # a shape pySHACL cannot load: the shapes are unreadable input
        where = ", ".join(str(p) for p in shape_files)
        raise ConfigError(f"{where}: the shapes could not be used: {err}") from None
    return results_graph


def _validate_pyshacl(data_files, shape_files, strict, progress) -> Report:
    files = [*data_files, *shape_files]
    step = (lambda n, total, item: progress(n, len(files), item)) if progress else None
    data = load_graph(data_files, step)
    shapes, _, _ = _shapes(shape_files, progress, len(data_files), len(files))
    triples = len(data)  # before pySHACL, which may add to the graph it validates in place
    results_graph = _run_pyshacl(data, shapes, shape_files)
    return Report(
        results=_results(_raw_results(results_graph), shapes, data),
        strict=strict,
        files=[str(p) for p in files],
        triples=triples,
        shapes=_rule_count(shapes),
        results_graph=results_graph,
        engine="pyshacl",
    )


def _validate_fast(data_files, shape_files, settings, strict, progress, store, jobs=1, keep=None) -> Report:
    from .stores import EmbeddedStore

    files = [] if store is not None else list(data_files)
    total_files = len(files) + len(shape_files)
    own_store = store is None
    if own_store:
        step = (lambda n, total, item: progress(n, total_files, item)) if progress else None
        store = EmbeddedStore(load_store(files, step), settings)
        if keep is not None:
            keep.append(store)
    shapes, checks, fallback = _shapes(shape_files, progress, len(files), total_files)

    triples = len(store)
    if own_store and jobs > 1 and len(checks) > 1 and triples >= PARALLEL_FROM and _can_fork():
        raws = _run_forked(checks, store, jobs, progress)
    else:
        raws = []
        for n, check in enumerate(checks, 1):
            raws += run_check(check, lambda q: store.select(q, cap=10**9).rows)
            if progress:
                progress(n, len(checks), f"rule {check.label}")
    if fallback:
        raws += _fallback(store, files, shapes, shape_files, fallback)
    where = [str(p) for p in files] or [getattr(store, "endpoint", None) or store.settings.get("SPARQL_ENDPOINT") or "store"]
    return Report(
        results=_results(raws, shapes, StoreGraph(store)),
        strict=strict,
        files=[*where, *map(str, shape_files)],
        triples=triples,
        shapes=_rule_count(shapes),
        results_graph=_results_graph(raws),
        engine="fast",
        fallback={str(shape): reason for shape, reason in fallback.items()},
    )


# Below this many triples the rules are checked in one process: forking costs more than it saves.
PARALLEL_FROM = 100_000
_forked = None  # (store, checks), inherited by the forked workers of _run_forked


def _can_fork() -> bool:
    """Forking is safe here: the platform has it and this process runs no other thread."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _run_forked(checks, store, jobs, progress) -> list:
    """Every check, in `jobs` forked processes that share the in-memory store; results in
    the order of `checks`. The SHACL-SPARQL rules (the costly ones: at 1M triples
    LinkTargetShape ~3 s, PositionConflictShape ~2 s, most others 0.3 s or less) are handed
    out first, the longest queries first, so that no costly rule starts last.

    Splitting a rule by focus node is not done: measured at 1M triples, each of two halves
    of every SHACL-SPARQL rule on instances of a class took as long as the whole (each half
    still joins against all the data), so parts only add work."""
    global _forked
    order = sorted(range(len(checks)), key=lambda i: (not checks[i].sparql, -len(checks[i].query), i))
    results = {}
    _forked = (store, checks)
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(checks))) as pool:
            for n, (index, raws) in enumerate(pool.imap_unordered(_run_task, order), 1):
                results[index] = raws
                if progress:
                    progress(n, len(checks), f"rule {checks[index].label}")
    finally:
        _forked = None
    return [raw for index in sorted(results) for raw in results[index]]


def _run_task(index: int) -> tuple:
    store, checks = _forked
    return index, run_check(checks[index], lambda q: store.select(q, cap=10**9).rows)


def _fallback(store, files, shapes, shape_files, fallback) -> list:
    """pySHACL for the shapes the compiler did not translate: the others are deactivated in
    a copy of the shapes graph. The data graph is read from the files, or (a remote store)
    downloaded: the one case where the fast path fetches the data."""
    subset = rdflib.Graph()
    for triple in shapes:
        subset.add(triple)
    for shape in top_level_shapes(shapes):
        if shape not in fallback:
            subset.set((shape, SH.deactivated, rdflib.Literal(True)))
    if files:
        data = load_graph(files)
    else:
        data = rdflib.Graph()
        rows = store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", cap=10**9).rows
        for row in rows:
            data.add((to_rdflib(row["s"]), to_rdflib(row["p"]), to_rdflib(row["o"])))
    return _raw_results(_run_pyshacl(data, subset, shape_files))


_cache_lock = threading.Lock()
_cache: dict = {}


def _fingerprint(paths) -> tuple:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def report_for(settings=None) -> Report:
    """The report of the served data, recomputed only when it may have changed: for files,
    when one was added, removed or changed since the last call for the same root; for a
    SPARQL endpoint (validated in place), when its triple count or the shapes changed."""
    settings = cfg.resolve(settings)
    endpoint = settings.get("SPARQL_ENDPOINT")
    with _cache_lock:
        key = (str(cfg.folder(settings, "DATA_DIR")), str(cfg.folder(settings, "SHAPES_DIR")), endpoint)
        if endpoint:
            from .stores import open_store

            store = open_store(settings)
            fingerprint = (len(store), _fingerprint(cfg.shape_files(settings)))
        else:
            store = None
            fingerprint = _fingerprint([*cfg.data_files(settings), *cfg.shape_files(settings)])
        cached = _cache.get(key)
        if cached and cached[0] == fingerprint:
            return cached[1]
        report = validate(settings=settings, store=store)
        _cache[key] = (fingerprint, report)
        return report


# ------------------------------------------------------------------ CLI

def cmd_validate(args) -> int:
    from .cli import progress_printer, settings_from

    settings = settings_from(args)
    show = progress_printer("validating")
    tty = show is not None
    # Run as the command (not main([...]) from Python): the store loaded for the check is
    # kept and the process leaves with os._exit once the report is out (server/cli.py), not
    # spending ~0.7 s a million triples freeing memory the system takes back anyway.
    keep = [] if getattr(args, "whole_process", False) else None
    report = validate(
        data_paths=args.paths or None,
        shape_paths=args.shapes or None,
        settings=settings,
        strict=args.strict,
        progress=show,
        engine=args.engine,
        jobs=args.jobs,
        keep=keep,
    )
    args.exit_at_once = bool(keep)
    if tty:
        where = "" if args.paths or not settings.get("SPARQL_ENDPOINT") or args.engine != "fast" else f" at {report.files[0]}"
        sys.stderr.write(f"validated {report.triples:,} triples{where} against {report.shapes} rules ({report.engine})\n")
    if args.format == "json":
        sys.stdout.write(report.to_json(indent=2) + "\n")
    elif args.format == "turtle":
        sys.stdout.write(report.to_turtle())
    else:
        sys.stdout.write(report.to_text())
    return 0 if report.conforms else 1


def register_cli(sub, common):
    p = sub.add_parser(
        "validate", parents=[common],
        help="check the reference against the SHACL shapes",
        description="Validate Turtle files (default: ontology/ and data/) against shapes/. "
        "Exit 0 conforms, 1 violations (or warnings with --strict), 2 unreadable input.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="data files or folders (the ontology is always added)")
    p.add_argument("--shapes", nargs="+", metavar="PATH", help="shape files or folders (default: shapes/)")
    p.add_argument("--format", choices=("text", "json", "turtle"), default="text")
    p.add_argument("--strict", action="store_true", help="warnings also fail (exit 1)")
    p.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast: the shapes as SPARQL on Oxigraph, or on $CODEREF_SPARQL_ENDPOINT when no PATH "
                   "is given (default); pyshacl: the reference engine, slower")
    p.add_argument("--jobs", type=int, default=_cpus(), metavar="N",
                   help="check the rules of a large graph (100k triples or more) read from files in N "
                   "processes (default: the number of CPUs, here %(default)s)")
    p.set_defaults(func=cmd_validate)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
