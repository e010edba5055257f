"""What a graph per file costs: one default graph (the layout before issue 19) against a named
graph per file read as their union (today's), in the same run, on persisted Oxigraph stores.

Prints, for each layout: build time (parse, load, repeat check, flush, optimize), size on disk,
and each catalogue question's engine p50 (first page, the bench's parameters), with the ratio
today/baseline. Figures only, never pass/fail.

    python benchmarks/datasets.py [--size 1m] [--runs 7]
"""

import argparse
import itertools
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import parse_size, write  # noqa: E402
from run import JSON_PAGE, PARAMS  # noqa: E402

from server import config as cfg  # noqa: E402
from server.graph import builds  # noqa: E402
from server.questions import load_catalogue  # noqa: E402
from server.rdf.parsing import parse_each  # noqa: E402
from server.store.oxigraph import OxigraphStore  # noqa: E402


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def baseline_build(files, folder: Path) -> float:
    """The layout before issue 19: every file's triples in the default graph."""
    t = time.perf_counter()
    quads = [q for quads in parse_each(files) for q in quads]
    store = ox.Store(str(folder))
    store.bulk_extend(quads)
    del quads
    store.flush()
    store.optimize()
    del store
    return time.perf_counter() - t


class DefaultGraphStore(OxigraphStore):
    """The store as it queried before issue 19: its default graph, no union option."""

    def _options(self, query, dataset) -> dict:
        return {}


def time_questions(store, catalogue, runs: int) -> dict:
    out = {}
    for q in catalogue:
        raw = {k: v for k, v in PARAMS.items() if q.param(k)}
        try:
            bindings = catalogue.bind(store, q, raw)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                list(itertools.islice(store._run(q.query, bindings), JSON_PAGE))
                times.append(time.perf_counter() - t)
                if times[-1] > 5:
                    break
            out[q.id] = statistics.median(times) * 1000
        except Exception as err:  # noqa: BLE001 (a benchmark reports, it does not stop)
            out[q.id] = f"{type(err).__name__}: {err}"[:60]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="coderef-datasets-"))
    try:
        synthetic = work / "synthetic.ttl"
        say(f"generating {args.size} triples ...")
        write(parse_size(args.size), synthetic)
        files = [*cfg.data_files(cfg.resolve({})), synthetic]
        catalogue = load_catalogue(cfg.folder(cfg.resolve({}), "QUERIES_DIR"))

        say("building: one default graph (baseline) ...")
        base_dir = work / "baseline"
        base_s = baseline_build(files, base_dir)
        say("building: a graph per file (today) ...")
        t = time.perf_counter()
        build = builds.build_persisted(files, work / "store")
        ours_s = time.perf_counter() - t
        repeats = builds.manifest(build).get("repeats", [])

        baseline = DefaultGraphStore(ox.Store.read_only(str(base_dir)))
        ours = OxigraphStore(ox.Store.read_only(str(build)))
        say("timing the questions ...")
        base_q = time_questions(baseline, catalogue, args.runs)
        ours_q = time_questions(ours, catalogue, args.runs)

        print(f"\n## Datasets at {args.size} ({len(ours)} quads; repeats moved: "
              f"{sum(r['triples'] for r in repeats)})\n")
        print("| | one default graph (baseline) | a graph per file (today) | ratio |")
        print("|---|---:|---:|---:|")
        print(f"| build s | {base_s:.1f} | {ours_s:.1f} | {ours_s / base_s:.2f} |")
        print(f"| disk MB | {disk_mb(base_dir):.0f} | {disk_mb(build):.0f} | {disk_mb(build) / disk_mb(base_dir):.2f} |")
        ratios = []
        for qid in base_q:
            b, o = base_q[qid], ours_q.get(qid)
            if isinstance(b, float) and isinstance(o, float):
                ratios.append(o / b)
                print(f"| {qid} p50 ms | {b:.1f} | {o:.1f} | {o / b:.2f} |")
            else:
                print(f"| {qid} | {b} | {o} | |")
        if ratios:
            print(f"\nQuestions: median ratio today/baseline {statistics.median(ratios):.2f} "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f}, {len(ratios)} questions, p50 of {args.runs} runs each)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
