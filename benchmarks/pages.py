"""Every page, uncached, in-process: p50 per page over a generated graph, and the code pages
with their diagram laid out on every request (before issue 16) as the baseline of the same run.

    python benchmarks/pages.py [--size 1m] [--runs 7]

The answer cache is off (CACHE_MB=0) and queries run in the web process (no isolation), on
a persisted build beside the generated data; figures, never pass/fail. Progress on stderr.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_MS = 50


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def pages(app) -> list[str]:
    """One address of every kind of page: codes of each scheme (a synthetic one too), the
    question pages with the parameters the shipped data answers, coverage, search."""
    store = app.extensions["coderef.graph"].store
    synthetic = store.select("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                             "SELECT ?n WHERE { ?c skos:notation ?n FILTER(STRSTARTS(?n, 'W')) } LIMIT 1").rows
    out = ["/", "/questions", "/codes/0584T", "/codes/E10.649", "/codes/modifier/KX", "/codes/pos/21",
           "/coverage", "/coverage.csv", "/search?q=portal+vein", "/search?q=hypoglycaemia", "/docs/api"]
    if synthetic:
        out.insert(3, f"/codes/{synthetic[0]['n']['value']}")
    values = {"code": "0584T", "icd": "E10.649", "payer": "medicare", "modifier": "KX", "place": "21", "as_of": "2026-01-01"}
    for q in sorted(app.extensions["coderef.questions"], key=lambda q: q.id):
        args = "&".join(f"{p.name}={values[p.name]}" for p in q.params if p.required and p.name in values)
        out.append(f"/questions/{q.id}" + (f"?{args}" if args else ""))
    return out


def timed(client, path: str, runs: int) -> tuple[float, float]:
    """(first request ms, p50 of the next `runs` ms)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: fix the page before measuring it")
    return times[0], statistics.median(times[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="triples of the generated graph beside the reference (default 1m)")
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page after the first (default 7)")
    args = parser.parse_args(argv)

    import generate
    from server import create_app
    from server.web import diagram

    with tempfile.TemporaryDirectory(prefix="coderef-pages-") as tmp:
        work = Path(tmp)
        say(f"generating {args.size} triples ...")
        extra = work / "synthetic.ttl"
        generate.write(generate.parse_size(args.size), extra)
        root = generate.make_root(work, extra)
        say("building the store (parse, shapes, reports) ...")
        started = time.perf_counter()
        app = create_app({"ROOT": str(root), "STORE": "persisted", "STORE_DIR": str(work / "store"),
                          "CACHE_MB": 0, "QUERY_ISOLATION": False, "RELOAD_INTERVAL": 0})
        say(f"  ready in {time.perf_counter() - started:.0f} s")
        client = app.test_client()
        rows = []
        for path in pages(app):
            say(f"  {path}")
            first, p50 = timed(client, path, args.runs)
            rows.append((path, first, p50))
        kept = diagram.kept_svg
        diagram.kept_svg = lambda store, key, draw: draw()  # the baseline: a layout on every request
        diagram.render_svg.cache_clear()
        baseline = {}
        for path, _, _ in rows:
            if path.startswith("/codes/"):
                say(f"  baseline {path}")
                draws = []
                for _ in range(args.runs):
                    diagram.render_svg.cache_clear()
                    started = time.perf_counter()
                    client.get(path)
                    draws.append((time.perf_counter() - started) * 1000)
                baseline[path] = statistics.median(draws)
        diagram.kept_svg = kept

    print(f"\n## Pages, uncached, in-process ({args.size} triples beside the reference; {args.runs} runs a page)\n")
    print("| page | first request ms | p50 ms | p50 with a layout per request ms | ratio | under 50 ms |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for path, first, p50 in rows:
        base = baseline.get(path)
        ratio = f"{base / p50:.1f}x" if base else ""
        print(f"| `{path}` | {first:.0f} | {p50:.0f} | {f'{base:.0f}' if base else ''} | {ratio} | {'yes' if p50 < TARGET_MS else 'no'} |")
    under = sum(1 for _, _, p50 in rows if p50 < TARGET_MS)
    print(f"\n{under} of {len(rows)} pages have a p50 under {TARGET_MS} ms; median of the pages' p50s "
          f"{statistics.median(p for _, _, p in rows):.0f} ms.")


if __name__ == "__main__":
    main()
