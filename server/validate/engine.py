"""Validation runs: the reference (ontology/ + data/) against shapes/, on the fast path or pySHACL.

    validate(data_paths=None, shape_paths=None, settings=None, strict=False, progress=None,
             engine="fast", store=None, jobs=1) -> Report

Two engines, one report:
- "fast" (default): server/validate/shapes.py compiles every shape to one SPARQL SELECT and
  runs it on a store: an in-memory Oxigraph store of the files, or, when no data_paths are
  given and SPARQL_ENDPOINT is set, the remote endpoint itself (the data is not downloaded).
  A shape it cannot translate is checked by pySHACL, and `Report.fallback` says which and why.
- "pyshacl": the reference engine, on rdflib graphs. The differential test
  (tests/validate/test_validation_engine.py) holds the two to the same results.
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
the fast path loads it straight into its store (no Python object per triple), but for the
literals the store would retype ("5"^^xsd:int), which server/validate/lexical.py loads as
written. pySHACL's data is parsed again by rdflib: data and shapes must come from one
parser, since Oxigraph types plain literals xsd:string and rdflib does not (the fast path
reads results back as rdflib terms without that type); rdflib reads them with literals as
written. Oxigraph stores valid numbers and dates by value ("-1.00"^^xsd:decimal reads back
as "-1"): a result's literal is put back as the files write it (lexical.as_written).


`report_for(settings)` memoises the report of the served data for the web view.
"""

import multiprocessing
import threading

import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SH

from .. import config as cfg
from ..errors import ConfigError
from ..files import fingerprint
from ..rdf.parsing import base_iri, expand, load_graph, rdf_format
from ..rdf.terms import to_rdflib
from ..store.oxigraph import OxigraphStore
from . import ENGINES
from .checks import run_check
from .lexical import as_written, load_store, retyped_literals
from .lexical import reason as lexical_reason
from .pyshacl_patch import run_pyshacl
from .report import Report, raw_results, result_dicts, results_graph, rule_count
from .shapes import compile_shapes, top_level_shapes
from .sparql_constraints import SHAPES_GRAPH
from .store_graph import StoreGraph

# ------------------------------------------------------------------ validate


def validate(data_paths=None, shape_paths=None, settings=None, strict=False, progress=None,
             engine="fast", store=None, jobs=1, keep=None, written=()) -> Report:
    """Validate data against shapes; see the module docstring. `progress(n, total, item)`
    is called per file read and, on the fast path, per rule checked.

    `engine`: "fast" (shapes compiled to SPARQL, run on a store; pySHACL only for shapes it
    cannot translate) or "pyshacl" (the reference). `store`: validate the data of this
    store (anything with `select`) instead of files; without it and without data_paths,
    the fast path validates the configured SPARQL endpoint when there is one. `keep`: a
    list the engine appends the data it loaded to (the fast path's store, pySHACL's rdflib
    graph), for a caller that exits without freeing it (a 1M-triple store takes ~0.7 s to
    free) or that reads the report's blank nodes in it. "fast-only" is the fast path that
    never falls back: a shape it cannot translate is a ConfigError naming it. `written`: the
    files `store` was loaded from; when they hold literals the store keeps in another form
    ("5"^^xsd:int as an xsd:integer), every shape is checked by pySHACL on those files."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown validation engine {engine!r}; use one of {', '.join(ENGINES)}")
    settings = cfg.resolve(settings)
    ontology = sorted(cfg.folder(settings, "ONTOLOGY_DIR").glob("*.ttl"))
    data_files = cfg.data_files(settings) if data_paths is None else expand([*ontology, *data_paths])
    shape_files = cfg.shape_files(settings) if shape_paths is None else expand(shape_paths)
    if not shape_files:
        raise ConfigError(f"no shapes to validate against (looked in {cfg.folder(settings, 'SHAPES_DIR')})")
    if engine != "pyshacl" and store is None and data_paths is None and settings.get("SPARQL_ENDPOINT"):
        from ..store.remote import RemoteStore  # noqa: PLC0415 (SPARQLWrapper only when used)

        store = RemoteStore(settings).for_validation()
    if engine == "pyshacl":
        return _validate_pyshacl(data_files, shape_files, strict, progress, keep)
    return _validate_fast(data_files, shape_files, settings, strict, progress, store, jobs, keep,
                          fallback_allowed=engine == "fast", written=written)


_shapes_lock = threading.Lock()
_parse_lock = threading.Lock()


def _load_as_written(files, progress=None) -> rdflib.Graph:
    """An rdflib graph of the files with every literal as written: rdflib would otherwise
    rewrite some ("1"^^xsd:boolean as "true", which sh:uniqueLang must not take for true;
    "2011-01-01"^^xsd:dateTime as midnight), and the report shows values as written."""
    with _parse_lock:
        normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
        try:
            return load_graph(files, progress)
        finally:
            rdflib.NORMALIZE_LITERALS = normalize
_shapes_cache: dict = {}


def _shapes(shape_files, progress=None, offset=0, total=0):
    """The shapes graph and its compiled checks, parsed and compiled once per version of
    the files (the web view, the CLI and the tests validate against the same shapes over
    and over). Callers must not change the graph."""
    key = fingerprint(shape_files)
    with _shapes_lock:
        cached = _shapes_cache.get(key)
    if cached is None:
        shapes = _load_as_written(shape_files)
        try:
            cached = (shapes, *compile_shapes(shapes))
        except ConfigError as err:  # a shape that is in error: name the files it came from
            raise ConfigError(f"{', '.join(map(str, shape_files))}: {err}") from None
        with _shapes_lock:
            if len(_shapes_cache) > 16:
                _shapes_cache.clear()
            _shapes_cache[key] = cached
    if progress:
        for n, path in enumerate(shape_files, 1):
            progress(offset + n, total, path)
    return cached


def _validate_pyshacl(data_files, shape_files, strict, progress, keep=None) -> Report:
    files = [*data_files, *shape_files]
    step = (lambda n, total, item: progress(n, len(files), item)) if progress else None
    data = _load_as_written(data_files, step)
    if keep is not None:
        keep.append(data)
    shapes, _, _ = _shapes(shape_files, progress, len(data_files), len(files))
    triples = len(data)  # before pySHACL, which may add to the graph it validates in place
    pyshacl_graph = run_pyshacl(data, shapes, shape_files)
    return Report(
        results=result_dicts(raw_results(pyshacl_graph), shapes, data),
        strict=strict,
        files=[str(p) for p in files],
        triples=triples,
        shapes=rule_count(shapes),
        results_graph=pyshacl_graph,
        engine="pyshacl",
    )


def _validate_fast(data_files, shape_files, settings, strict, progress, store, jobs=1, keep=None,
                   fallback_allowed=True, written=()) -> Report:
    files = [] if store is not None else list(data_files)
    total_files = len(files) + len(shape_files)
    own_store = store is None
    retyped = {}
    if own_store:
        step = (lambda n, total, item: progress(n, total_files, item)) if progress else None
        loaded, retyped = load_store(files, step)
        store = OxigraphStore(loaded, settings)
        if keep is not None:
            keep.append(store)
    shapes, checks, fallback = _shapes(shape_files, progress, len(files), total_files)
    fallback = dict(fallback)
    changed = retyped_literals(written) if not own_store and written else {}
    if changed:  # a store loaded without them as written
        why = lexical_reason(changed).split(": loaded as written")[0] + ": checked by pySHACL"
        fallback.update({shape: why for shape in top_level_shapes(shapes)})
        files = list(written)
    triples = len(store)
    # SHACL-SPARQL would read literals loaded as written under our datatypes: pySHACL checks it
    moved = {c.shape: lexical_reason(retyped) for c in checks if c.sparql} if retyped else {}
    if any(SHAPES_GRAPH in c.query for c in checks):
        if own_store:
            for path in shape_files:  # $shapesGraph: the shapes, in a graph of the store
                store.store.bulk_load(path=str(path), format=rdf_format(path), base_iri=base_iri(path),
                                      to_graph=ox.NamedNode(SHAPES_GRAPH))
        else:
            moved.update({c.shape: "$shapesGraph, on a store this run did not load" for c in checks
                          if SHAPES_GRAPH in c.query})
    tops = {shape: top for top in top_level_shapes(shapes) for shape in _reached(shapes, top)}
    for shape, why in moved.items():
        fallback.setdefault(tops.get(shape, shape), why)
    checks = [c for c in checks if tops.get(c.shape, c.shape) not in fallback]
    if fallback and not fallback_allowed:
        reasons = "; ".join(f"{shape}: {why}" for shape, why in sorted(fallback.items()))
        raise ConfigError(f"--engine fast-only: {_plural_rules(len(fallback))} not translated to SPARQL "
                          f"({reasons}); use --engine fast to check them with pySHACL")

    if own_store and jobs > 1 and len(checks) > 1 and triples >= PARALLEL_FROM and _can_fork():
        raws = _run_forked(checks, store, jobs, progress)
    else:
        raws = []
        for n, check in enumerate(checks, 1):
            raws += run_check(check, lambda q: store.select(q, cap=10**9).rows)
            if progress:
                progress(n, len(checks), f"rule {check.label}")
    raws = as_written(raws, files, [o for o in shapes.objects(None, SH.targetNode) if isinstance(o, rdflib.Literal)])
    if fallback:
        raws += _fallback(store, files, shapes, shape_files, fallback)
    where = [str(p) for p in files] or [getattr(store, "endpoint", None) or store.settings.get("SPARQL_ENDPOINT") or "store"]
    return Report(
        results=result_dicts(raws, shapes, StoreGraph(store)),
        strict=strict,
        files=[*where, *map(str, shape_files)],
        triples=triples,
        shapes=rule_count(shapes),
        results_graph_builder=lambda: results_graph(raws, shapes),
        engine="fast",
        fallback={str(shape): reason for shape, reason in fallback.items()},
    )


def _plural_rules(n: int) -> str:
    return f"{n} rule" + ("" if n == 1 else "s")


def _reached(g, top, seen=None) -> set:
    """A top-level shape and the property shapes it holds, at any depth."""
    seen = set() if seen is None else seen
    if top not in seen:
        seen.add(top)
        for prop in g.objects(top, SH.property):
            _reached(g, prop, seen)
    return seen


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
    """pySHACL for the shapes the compiler did not translate. The others lose their
    targets (not their meaning) in a copy of the shapes graph: deactivated, a shape that a
    sh:not or sh:node of a fallback shape points at would conform whatever the node. The
    data graph is read from the files, or (a remote store) downloaded: the one case where
    the fast path fetches the data."""
    subset = rdflib.Graph()
    for triple in shapes:
        subset.add(triple)
    for shape in top_level_shapes(shapes):
        if shape not in fallback:
            for target in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
                subset.remove((shape, target, None))
            for kind in (RDFS.Class, OWL.Class):  # an implicit class target
                subset.remove((shape, RDF.type, kind))
    if files:
        data = _load_as_written(files)
    else:
        data = rdflib.Graph()
        rows = store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", cap=10**9).rows
        for row in rows:
            data.add((to_rdflib(row["s"]), to_rdflib(row["p"]), to_rdflib(row["o"])))
    return raw_results(run_pyshacl(data, subset, shape_files))


_cache_lock = threading.Lock()
_cache: dict = {}


def report_for(settings=None) -> Report:
    """The report of the served data, recomputed only when it may have changed: for files,
    when one was added, removed or changed since the last call for the same root; for a
    SPARQL endpoint (validated in place), when its triple count or the shapes changed."""
    settings = cfg.resolve(settings)
    endpoint = settings.get("SPARQL_ENDPOINT")
    with _cache_lock:
        key = (str(cfg.folder(settings, "DATA_DIR")), str(cfg.folder(settings, "SHAPES_DIR")), endpoint)
        if endpoint:
            from ..store.remote import RemoteStore  # noqa: PLC0415

            store = RemoteStore(settings)
            seen = (len(store), fingerprint(cfg.shape_files(settings)))
        else:
            store = None
            seen = fingerprint([*cfg.data_files(settings), *cfg.shape_files(settings)])
        cached = _cache.get(key)
        if cached and cached[0] == seen:
            return cached[1]
        report = validate(settings=settings, store=store.for_validation() if store is not None else None)
        _cache[key] = (seen, report)
        return report
