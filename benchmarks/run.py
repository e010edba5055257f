"""`make bench`: load/open time and peak memory per backend, every catalogue question's
p50/p99 in-process (and the engine's own time), the rdflib Memory baseline in the same run,
and HTTP figures on the production server (gunicorn, persisted store). Tables on stdout,
progress on stderr.

    python benchmarks/run.py [--sizes 10k,100k,1m] [--icd10cm] [--quick] [--no-http]

Each measurement of one backend runs in its own process, so that its peak RSS is its own.
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from server import config as cfg  # noqa: E402

# Parameters a person would give each question (the reference's own code and diagnosis).
PARAMS = {"code": "0584T", "icd": "E10.64", "payer": "medicare"}
# rdflib is not run where its estimated time is over this (seconds, load + questions).
RDFLIB_BUDGET = 240
# A question with no answer in this long (seconds) on Oxigraph in memory is reported and skipped.
PROBE_LIMIT = 30


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def peak_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage: ru_maxrss survives exec, so a worker
    would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed_runs(fn, budget: float, max_runs: int, min_runs: int = 3):
    """Milliseconds of repeated calls: at least min_runs, then until budget seconds or max_runs."""
    times = []
    start = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        if times[-1] > budget * 1000:  # one run over the budget: once is enough
            break
    return times


# ------------------------------------------------------------------ worker (one backend, own process)

def finishes(fn, limit: float) -> bool:
    """Whether fn() returns within `limit` seconds, tried in a forked child (an Oxigraph
    query cannot be interrupted; a child can be killed). Only for in-memory stores: a fork
    after RocksDB has started its threads can hang."""
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


def worker(backend: str, root: Path, store_dir: Path, quick: bool, skip=()) -> dict:
    settings = cfg.resolve({"ROOT": str(root), "STORE_DIR": str(store_dir)})
    files = cfg.data_files(settings)
    from server.questions import load_catalogue

    catalogue = load_catalogue(cfg.folder(settings, "QUERIES_DIR"))
    out = {"backend": backend, "questions": {}, "stalled": list(skip)}
    budget, max_runs = (0.3, 20) if quick else (1.0, 200)
    t = time.perf_counter()
    if backend == "rdflib":
        return rdflib_worker(files, catalogue, out, quick, skip)
    import pyoxigraph as ox

    from server import graph
    from server.stores import EmbeddedStore

    if backend == "build":
        build = graph.build_persisted(files, store_dir)
        out["load_s"] = time.perf_counter() - t
        out["peak_mb"] = peak_mb()
        out["triples"] = json.loads((build / graph.MANIFEST).read_text())["triples"]
        return out
    if backend == "oxigraph-memory":
        ox_store = graph.load_store(files)
    else:
        build, _ = graph.ensure_persisted(files, store_dir)  # as stores.open_store opens it
        ox_store = ox.Store.read_only(str(build))
    out["load_s"] = time.perf_counter() - t
    store = EmbeddedStore(ox_store, settings)
    out["triples"] = len(store)
    out["rss_after_load_mb"] = peak_mb()
    for q in catalogue:
        raw = {k: v for k, v in PARAMS.items() if q.param(k)}
        if q.id in skip:
            out["questions"][q.id] = {"error": "stalled in memory: not run"}
            continue
        if backend == "oxigraph-memory" and not finishes(lambda: catalogue.run(store, q.id, raw), PROBE_LIMIT):
            out["stalled"].append(q.id)
            out["questions"][q.id] = {"error": f"no answer within {PROBE_LIMIT:.0f} s (stopped)"}
            say(f"    {q.id}: no answer within {PROBE_LIMIT:.0f} s")
            continue
        try:
            bindings = catalogue.bind(store, q, raw)
            rows = len(catalogue.answer(store, q.id, bindings).rows)
            question = timed_runs(lambda: catalogue.run(store, q.id, raw), budget, max_runs)
            engine = timed_runs(lambda: list(store._run(q.query, bindings)), budget, max_runs)
            out["questions"][q.id] = {"rows": rows, "p50": statistics.median(question),
                                      "p99": percentile(question, 99), "engine_p50": statistics.median(engine)}
        except Exception as err:  # noqa: BLE001 (a benchmark reports, it does not stop)
            out["questions"][q.id] = {"error": f"{type(err).__name__}: {err}"[:120]}
    out["peak_mb"] = peak_mb()
    return out


def rdflib_worker(files, catalogue, out, quick, skip=()) -> dict:
    import rdflib

    from server import stores

    t = time.perf_counter()
    g = rdflib.Graph()
    for path in files:
        g.parse(str(path), format="turtle")
    out["load_s"] = time.perf_counter() - t
    out["triples"] = len(g)
    out["rss_after_load_mb"] = peak_mb()

    def term(value):
        if isinstance(value, stores.IRI):
            return rdflib.URIRef(value.value)
        return rdflib.Literal(value.value, lang=value.lang, datatype=rdflib.URIRef(value.datatype) if value.datatype else None)

    # The bindings the app would use, resolved on an Oxigraph copy of the same files.
    from server import graph
    from server.stores import EmbeddedStore

    helper = EmbeddedStore(graph.load_store(files))
    for q in catalogue:
        raw = {k: v for k, v in PARAMS.items() if q.param(k)}
        if q.id in skip:
            out["questions"][q.id] = {"error": "stalled on Oxigraph: not run"}
            continue
        try:
            bindings = {k: term(v) for k, v in catalogue.bind(helper, q, raw).items()}
            times = timed_runs(lambda: list(g.query(q.query, initBindings=bindings)), 2.0 if not quick else 0.5, 10, 1)
            out["questions"][q.id] = {"p50": statistics.median(times), "p99": percentile(times, 99)}
        except Exception as err:  # noqa: BLE001
            out["questions"][q.id] = {"error": f"{type(err).__name__}: {err}"[:120]}
    del helper
    out["peak_mb"] = peak_mb()
    return out


def run_worker(backend: str, root: Path, store_dir: Path, quick: bool, skip=()) -> dict:
    cmd = [sys.executable, __file__, "--worker", backend, "--root", str(root), "--store-dir", str(store_dir),
           "--skip", ",".join(skip)]
    if quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"backend": backend, "failed": done.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(done.stdout)


# ------------------------------------------------------------------ data sets

def make_root(folder: Path, extra: Path | None) -> Path:
    """A ROOT with the repository's ontology/, shapes/, queries/ and data/ (without
    modules) plus one extra data file under data/modules/."""
    root = folder / "root"
    # Copies, not links: the figures are of one state of the files, whatever changes meanwhile.
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(REPO / name, root / name)
    shutil.copytree(REPO / "data", root / "data", ignore=shutil.ignore_patterns("modules", "examples"))
    if extra:
        (root / "data" / "modules").mkdir()
        os.symlink(extra, root / "data" / "modules" / extra.name)
    return root


# ------------------------------------------------------------------ HTTP

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """The gunicorn workers of a master (not multiprocessing's resource tracker)."""
    try:
        pids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [p for p in pids if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Server:
    def __init__(self, cmd, env, ready_path: str):
        self.port = free_port()
        self.cmd = cmd  # a function of the port: the command line
        self.env = env
        self.ready_path = ready_path

    def __enter__(self):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd(self.port), env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = get(self.port, self.ready_path)
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {self.proc.stderr.read().decode()[-500:]}")
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - self.started
        return self

    def worker_rss(self) -> list[float]:
        return [rss_mb(pid) for pid in children(self.proc.pid)]

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def get(port: int, path: str, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if own:
        conn.close()
    return response.status, body


def throughput(port: int, path: str, seconds: float, clients: int = 4) -> float:
    """Requests per second with `clients` keep-alive connections for `seconds`."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop:
            get(port, path, conn)
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def http_bench(root: Path, store_dir: Path, catalogue, quick: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    env.update({"CODEREF_ROOT": str(root), "CODEREF_STORE_DIR": str(store_dir), "PYTHONPATH": str(REPO)})
    coderef = [sys.executable, "-m", "server.cli", "serve", "--workers", "2", "--quiet", "--store", "persisted"]
    out = {"questions": {}}
    seconds = 2 if quick else 5
    with Server(lambda port: coderef + ["--port", str(port)], env, "/api/questions") as server:
        out["ready_s"] = server.ready_s
        out["worker_rss_mb"] = server.worker_rss()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for q in catalogue:
            query = "&".join(f"{k}={v}" for k, v in PARAMS.items() if q.param(k))
            path = f"/api/questions/{q.id}" + (f"?{query}" if query else "")
            times = timed_runs(lambda: get(server.port, path, conn), 0.3 if quick else 1.0, 20 if quick else 200)
            out["questions"][q.id] = {"p50": statistics.median(times), "p99": percentile(times, 99)}
        conn.close()
        say("  HTTP throughput: code_summary")
        out["question_rps"] = throughput(server.port, "/api/questions/code_summary?code=0584T", seconds)
        out["worker_rss_after_mb"] = server.worker_rss()
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--chdir", str(HERE), "trivial:app"]
    with Server(lambda port: gunicorn + ["--bind", f"127.0.0.1:{port}"], env, "/ping") as server:
        say("  HTTP throughput: trivial Flask endpoint")
        out["trivial_rps"] = throughput(server.port, "/ping", seconds)
    return out


# ------------------------------------------------------------------ tables

def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def print_tables(name: str, results: dict, http: dict | None, rdflib_note: str | None):
    print(f"\n## {name}\n")
    print("| backend | triples | load/open s | peak RSS MB |")
    print("|---|---|---|---|")
    for key in ("oxigraph-memory", "build", "oxigraph-persisted", "rdflib"):
        r = results.get(key)
        label = {"build": "oxigraph persisted: build"}.get(key, key)
        if r is None:
            print(f"| {label} | | {rdflib_note or 'not run'} | |")
        elif "failed" in r:
            print(f"| {label} | | failed: {r['failed'][0][:80]} | |")
        else:
            print(f"| {label} | {r.get('triples', '')} | {fmt(r['load_s'], 3)} | {fmt(r['peak_mb'], 0)} |")
    mem, per, rdf = (results.get(k) or {} for k in ("oxigraph-memory", "oxigraph-persisted", "rdflib"))
    if mem.get("load_s") and rdf.get("load_s"):
        print(f"\nload, rdflib / oxigraph in memory: {rdf['load_s'] / mem['load_s']:.1f}x")
    print("\nQuestions, milliseconds (p50 / p99 of repeated runs; engine = Oxigraph's own time for the"
          " bound query; ratio = rdflib p50 / oxigraph-memory p50)\n")
    head = "| question | rows | memory p50 | memory p99 | engine p50 | persisted p50 | persisted p99 | rdflib p50 | ratio |"
    if http:
        head += " HTTP p50 | HTTP p99 |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for qid, m in (mem.get("questions") or {}).items():
        p = (per.get("questions") or {}).get(qid, {})
        b = (rdf.get("questions") or {}).get(qid, {})
        if "error" in m:
            print(f"| {qid} | error: {m['error']} |")
            continue
        rd = b.get("p50")
        rd_text = fmt(rd, 2) if rd is not None else ("error" if "error" in b else (rdflib_note or "not run"))
        ratio = f"{rd / m['p50']:.0f}x" if rd else "-"
        line = (f"| {qid} | {m['rows']} | {fmt(m['p50'], 2)} | {fmt(m['p99'], 2)} | {fmt(m['engine_p50'], 2)} | "
                f"{fmt(p.get('p50'), 2)} | {fmt(p.get('p99'), 2)} | {rd_text} | {ratio} |")
        if http:
            h = http["questions"].get(qid, {})
            line += f" {fmt(h.get('p50'), 2)} | {fmt(h.get('p99'), 2)} |"
        print(line)
    slow = max(((q, m["p50"]) for q, m in mem.get("questions", {}).items() if "p50" in m), key=lambda x: x[1], default=None)
    if slow and rdf.get("questions", {}).get(slow[0], {}).get("p50"):
        print(f"\nslowest question ({slow[0]}): rdflib / oxigraph = {rdf['questions'][slow[0]]['p50'] / slow[1]:.0f}x")
    errors = {q: b["error"] for q, b in (rdf.get("questions") or {}).items() if "error" in b}
    if errors:
        print("\nrdflib errors: " + "; ".join(f"{q}: {e}" for q, e in errors.items()))
    if http:
        print(f"\nProduction server (gunicorn, 2 workers, persisted store opened read-only): ready in "
              f"{http['ready_s']:.2f} s (launch to first answer); RSS per worker "
              f"{', '.join(fmt(x, 0) for x in http['worker_rss_mb'])} MB at start, "
              f"{', '.join(fmt(x, 0) for x in http['worker_rss_after_mb'])} MB after the run")
        print(f"HTTP throughput, 4 keep-alive clients: code_summary {http['question_rps']:.0f} req/s, trivial Flask "
              f"endpoint {http['trivial_rps']:.0f} req/s, ratio {http['question_rps'] / http['trivial_rps']:.2f}")
    sys.stdout.flush()


# ------------------------------------------------------------------ main

def bench(name: str, extra: Path | None, work: Path, args, rdflib_estimate: float | None):
    say(f"== {name}")
    folder = work / name
    folder.mkdir()
    root = make_root(folder, extra)
    store_dir = folder / "store"
    results = {}
    stalled = []
    for backend in ("oxigraph-memory", "build", "oxigraph-persisted"):
        say(f"  {backend}")
        results[backend] = run_worker(backend, root, store_dir, args.quick, stalled)
        stalled = results[backend].get("stalled", stalled)
    note = None
    if args.no_rdflib:
        note = "not run (--no-rdflib)"
    elif rdflib_estimate and rdflib_estimate > RDFLIB_BUDGET:
        note = f"not run (est. {rdflib_estimate / 60:.0f} min)"
    else:
        say("  rdflib (baseline)")
        results["rdflib"] = run_worker("rdflib", root, store_dir, args.quick, stalled)
    http = None
    if not args.no_http:
        say("  HTTP (gunicorn)")
        from server.questions import load_catalogue

        try:
            http = http_bench(root, store_dir, [q for q in load_catalogue(root / "queries") if q.id not in stalled],
                              args.quick)
        except Exception as err:  # noqa: BLE001
            say(f"  HTTP failed: {err}")
    print_tables(name, results, http, note)
    return results


def rdflib_cost(results: dict) -> float | None:
    r = results.get("rdflib")
    if not r or "load_s" not in r:
        return None
    return r["load_s"] + sum(q.get("p50", 0) for q in r["questions"].values()) / 1000 * 3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="synthetic graph sizes, e.g. 10k,100k,1m (default 10k,100k)")
    parser.add_argument("--icd10cm", action="store_true", help="also the real ICD-10-CM module (~1M triples)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, shorter HTTP runs")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-rdflib", action="store_true")
    parser.add_argument("--no-validation", action="store_true", help="skip benchmarks/validation.py")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--store-dir", help=argparse.SUPPRESS)
    parser.add_argument("--skip", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.root), Path(args.store_dir), args.quick,
                                [q for q in args.skip.split(",") if q])))
        return
    sys.path.insert(0, str(HERE))
    import generate

    print(f"# coderef benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"machine: {os.cpu_count()} cores (nproc), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="coderef-bench-") as tmp:
        work = Path(tmp)
        previous = None
        for size_text in args.sizes.split(","):
            size = generate.parse_size(size_text)
            say(f"generating {size_text} triples")
            data = generate.write(size, work / f"synthetic-{size_text}.ttl")
            estimate = None
            if previous:
                prev_size, cost = previous
                estimate = cost * size / prev_size if cost else None
            results = bench(f"synthetic {size_text}", data, work, args, estimate)
            previous = (size, rdflib_cost(results)) if rdflib_cost(results) else previous
        if args.icd10cm:
            from server.icd10cm import build

            module = work / "icd10cm.ttl"
            say("building the ICD-10-CM module")
            build(module)
            estimate = previous[1] * 1_000_000 / previous[0] if previous and previous[1] else None
            bench("ICD-10-CM module (real code set) + reference", module, work, args, estimate)
    validation = HERE / "validation.py"  # validation timing has its own script (fast path vs pySHACL)
    if validation.exists() and not args.no_validation:
        say("== validation (benchmarks/validation.py)")
        sizes = [str(generate.parse_size(s)) for s in args.sizes.split(",")]
        print("\n## Validation\n", flush=True)
        subprocess.run([sys.executable, str(validation), "--sizes", *sizes] + (["--runs", "1"] if args.quick else []))


if __name__ == "__main__":
    main()
