"""Validation time: the fast path (shapes as SPARQL on Oxigraph) against pySHACL.

Graphs of about 10k and 100k triples are the shipped reference repeated: every statement,
policy, position, payer and source node is copied under a new IRI (codes, code systems and
controlled vocabularies are shared, as they would be in a larger reference), with the
violations of tests/test_validation_engine.py injected once. pySHACL runs only up to
--pyshacl-max triples (it takes minutes beyond). Prints a table of medians; never a test.

Measured while writing it (2 cores shared with other jobs): every copy states positions on
the same few codes, so PositionConflictShape's pairwise join on the code grows with the
square of the copies; at 100k its SELECT did not finish in minutes on Oxigraph either.

    .venv/bin/python benchmarks/validation.py [--sizes 10000 100000] [--runs 3]
"""

import argparse
from collections import Counter
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from server import config as cfg  # noqa: E402
from server.graph import load_store  # noqa: E402
from server.namespaces import CR, ID  # noqa: E402
from server.validation import validate  # noqa: E402

# Shared across copies: the things a bigger reference would not repeat.
SHARED = tuple(ID + s + "/" for s in ("cpt", "hcpcs", "icd10cm", "modifier", "pos", "scheme", "vocab", "setting"))
SLUG = ox.NamedNode(CR + "payerSlug")


def _copy(term, k):
    if isinstance(term, ox.NamedNode) and term.value.startswith(ID) and not term.value.startswith(SHARED):
        return ox.NamedNode(f"{term.value}-copy{k}")
    return term


def scaled_graph(path: Path, triples: int, settings) -> int:
    """The shipped data repeated to about `triples`, violations injected, as Turtle."""
    import test_validation_engine as injected  # noqa: PLC0415 (the test's injector)

    base = tempfile.NamedTemporaryFile(suffix=".ttl", delete=False)
    injected.broken_graph(Path(base.name), settings)
    source = list(ox.parse(path=base.name))
    store = ox.Store()
    store.bulk_extend(source)
    k = 0
    while len(store) < triples:
        k += 1
        copies = []
        for q in source:
            o = q.object
            if q.predicate == SLUG:
                o = ox.Literal(f"{o.value}-copy{k}")  # the slug follows the payer's IRI
            copies.append(ox.Quad(_copy(q.subject, k), q.predicate, _copy(o, k)))
        store.bulk_extend(copies)
    store.dump(str(path), ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph())
    return len(store)


def same(fast, reference) -> bool:
    """The two reports hold the same results (as the differential test compares them)."""
    key = ("severity", "focus", "path", "value", "shape", "message")
    return Counter(tuple(r[k] for k in key) for r in fast.results) == Counter(
        tuple(r[k] for k in key) for r in reference.results)


def median_time(fn, runs):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pyshacl-max", type=int, default=12_000,
                        help="skip pySHACL above this many triples (0: never run it)")
    args = parser.parse_args(argv)
    settings = cfg.resolve()

    rows = []
    shipped = len(load_store(cfg.data_files(settings)))
    fast_t, fast = median_time(lambda: validate(settings=settings), args.runs)
    if shipped <= args.pyshacl_max:
        ref_t, ref = median_time(lambda: validate(settings=settings, engine="pyshacl"), 1)
        rows.append(("shipped", shipped, fast_t, len(fast.results), ref_t, len(ref.results), same(fast, ref)))
    else:
        rows.append(("shipped", shipped, fast_t, len(fast.results), None, None, None))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"graph-{size}.ttl"
            triples = scaled_graph(path, size, settings)
            fast_t, fast = median_time(lambda: validate([path], settings=settings), args.runs)
            if triples <= args.pyshacl_max:
                ref_t, ref = median_time(lambda: validate([path], settings=settings, engine="pyshacl"), 1)
                rows.append((f"{size:,}", triples, fast_t, len(fast.results), ref_t, len(ref.results), same(fast, ref)))
            else:
                rows.append((f"{size:,}", triples, fast_t, len(fast.results), None, None, None))

    print(f"{'graph':>10} {'triples':>9} {'fast s':>8} {'results':>7} {'pySHACL s':>10} {'results':>7} {'ratio':>7} same")
    for name, triples, fast_t, fast_n, ref_t, ref_n, identical in rows:
        ref_s = f"{ref_t:10.2f}" if ref_t is not None else f"{'skipped':>10}"
        ref_c = f"{ref_n:7d}" if ref_n is not None else f"{'':>7}"
        ratio = f"{ref_t / fast_t:6.1f}x" if ref_t else f"{'':>7}"
        print(f"{name:>10} {triples:9,d} {fast_t:8.2f} {fast_n:7d} {ref_s} {ref_c} {ratio} {'' if identical is None else identical}")
    print(f"(fast: median of {args.runs}; pySHACL: one run; the fast path loads the files into Oxigraph each run)")


if __name__ == "__main__":
    main()
