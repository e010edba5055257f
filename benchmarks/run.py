"""`make bench`: coderef at scale against the rdflib Memory + pySHACL baseline, measured in
the same run. Per data set (synthetic coding graphs of benchmarks/generate.py at each size,
and with --icd10cm the real ICD-10-CM code set):

- load/open time and peak memory per backend: Oxigraph in memory (parsed as `--store
  memory` does), the persisted build (made once, checked against shapes/, as `coderef
  serve` makes it) and opening it read-only (what a server worker does), rdflib Memory;
- every catalogue question's p50/p99 in-process (the API's first JSON page) on both
  Oxigraph stores, Oxigraph's own time for the bound query, rdflib's, the ratio;
- the same questions over HTTP on the production setup (`coderef serve`: gunicorn, 2
  workers, persisted store, query isolation) with the answer cache off (CODEREF_CACHE_MB=0),
  and, unless --quick, the cached figure beside it; server start, worker memory, and the
  throughput of one question against a trivial Flask app on the same gunicorn setup;
- validation (benchmarks/validation.py): `coderef validate` against pySHACL.
Then the issue's targets, each with the figure that meets or misses it.

    python benchmarks/run.py [--sizes 10k,100k,1m] [--icd10cm] [--quick] [--runs N]

Tables (Markdown) on stdout, progress on stderr. Every measurement of a backend runs in a
process of its own, so that its peak RSS is its own. Baselines are bounded: an rdflib
question is stopped at --rdflib-cap seconds, pySHACL at --pyshacl-cap (and not started when
extrapolation says it would pass it); what was not run says so, and estimates say "est.".
"""

import argparse
import dataclasses
import http.client
import itertools
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlencode
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

from server import config as cfg  # noqa: E402

# What a person would ask each question with: the reference's own code, diagnosis and payer.
PARAMS = {"code": "0584T", "icd": "E10.649", "payer": "medicare", "modifier": "KX", "place": "21",
          "codes": "E10.649 R73.9"}
# A question with no answer in this long (seconds) on Oxigraph in memory is reported and skipped.
PROBE_LIMIT = 30
# An rdflib question is stopped at --rdflib-cap seconds, or this many times Oxigraph's time if longer.
RDFLIB_OVER_OXIGRAPH = 12
JSON_PAGE = 1000  # rows of the API's first JSON page (server/web/views/api.py JSON_PAGE)
RESTARTS = 3  # server restarts timed (median)
TARGETS = {"ready_s": 1.0, "worker_mb": 150, "http_p50_ms": 50, "http_over_engine": 10, "validate_s": 15, "speedup": 10}


STARTED = time.monotonic()


def say(*parts):
    print(f"[{time.monotonic() - STARTED:6.1f} s]", *parts, file=sys.stderr, flush=True)


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


def in_child(fn, limit: float):
    """Seconds fn() took in a forked child, None past `limit` (the child is killed: a query
    cannot be interrupted, a process can), or the error's text. Only for in-memory stores:
    a fork after RocksDB has started its threads can hang."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            start = time.perf_counter()
            fn()
            os.write(write, repr(time.perf_counter() - start).encode())
        except BaseException as err:  # noqa: BLE001 (reported by the parent)
            os.write(write, f"{type(err).__name__}: {err}"[:200].encode())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                text = os.read(read, 4096).decode(errors="replace")
                try:
                    return float(text)
                except ValueError:
                    return text or "the child died"
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None
    finally:
        os.close(read)


# ------------------------------------------------------------------ worker (one backend, own process)

def worker(backend: str, root: Path, store_dir: Path, quick: bool, skip=(), rdflib_cap: float = 60,
           ox_times: dict | None = None) -> dict:
    settings = cfg.resolve({"ROOT": str(root), "STORE_DIR": str(store_dir), "QUERY_ISOLATION": False})
    files = cfg.data_files(settings)
    from server.questions import load_catalogue

    catalogue = load_catalogue(cfg.folder(settings, "QUERIES_DIR"))
    out = {"backend": backend, "questions": {}, "stalled": list(skip)}
    if backend == "rdflib":
        return rdflib_worker(files, catalogue, out, quick, skip, rdflib_cap, ox_times or {})
    import pyoxigraph

    from server.graph import builds as graph
    from server.graph.open import open_store

    t = time.perf_counter()
    if backend == "build":
        build = graph.build_persisted(files, store_dir, shapes=cfg.shape_files(settings))
        out["load_s"] = time.perf_counter() - t
        out["triples"] = graph.manifest(build)["triples"]
        t = time.perf_counter()  # then its reports, as the first `coderef serve` makes them
        made = graph.ensure_reports(build, pyoxigraph.Store.read_only(str(build)), cfg.folder(settings, "QUERIES_DIR"))
        out["reports_s"] = time.perf_counter() - t if made is not None else None
        out["peak_mb"] = peak_mb()
        return out
    kind = "memory" if backend == "oxigraph-memory" else "persisted"
    store = open_store({**settings, "STORE": kind})  # as the app opens it
    out["load_s"] = time.perf_counter() - t
    out["rss_after_load_mb"] = peak_mb()
    out["triples"] = len(store)
    out["reports"] = sorted(store.reports.questions) if store.reports is not None else []
    if kind == "memory" and store.reports is not None and store.reports.questions:
        # An in-memory store makes its reports at the first question that has one: made here,
        # timed apart, so that the probes below (forked children, which would each make them
        # again) and the questions' times are of answers, as on a persisted store.
        t = time.perf_counter()
        store.reports.made()
        out["reports_s"] = time.perf_counter() - t
    budget, max_runs = (0.05, 5) if quick else (1.0, 200)
    for q in catalogue:
        raw = {k: v for k, v in PARAMS.items() if q.param(k)}
        if q.id in skip:
            out["questions"][q.id] = {"error": "no answer in memory within the probe limit: not run"}
            continue
        if kind == "memory":
            took = in_child(lambda: catalogue.page(store, q.id, raw, 0, JSON_PAGE), PROBE_LIMIT)
            if not isinstance(took, float):
                if took is None:
                    out["stalled"].append(q.id)
                    say(f"    {q.id}: no answer within {PROBE_LIMIT} s")
                out["questions"][q.id] = {"error": f"no answer within {PROBE_LIMIT} s (stopped)" if took is None else took}
                continue
        try:
            bindings = catalogue.bind(store, q, raw)
            answer = catalogue.page(store, q.id, raw, 0, JSON_PAGE)
            question = timed_runs(lambda: catalogue.page(store, q.id, raw, 0, JSON_PAGE), budget, max_runs)
            engine = timed_runs(lambda: list(itertools.islice(store._run(q.query, bindings), JSON_PAGE)), budget, max_runs)
            out["questions"][q.id] = {"rows": len(answer.rows), "more": bool(answer.more),
                                      "p50": statistics.median(question), "p99": percentile(question, 99),
                                      "engine_p50": statistics.median(engine)}
        except Exception as err:  # noqa: BLE001 (a benchmark reports, it does not stop)
            out["questions"][q.id] = {"error": f"{type(err).__name__}: {err}"[:120]}
    out["peak_mb"] = peak_mb()
    return out


def rdflib_worker(files, catalogue, out, quick, skip, cap, ox_times) -> dict:
    import rdflib

    from server.rdf import terms
    from server.rdf.parsing import load_store
    from server.store.embedded import EmbeddedStore

    t = time.perf_counter()
    g = rdflib.Graph()
    for path in files:
        g.parse(str(path), format="turtle")
    out["load_s"] = time.perf_counter() - t
    out["triples"] = len(g)
    out["rss_after_load_mb"] = peak_mb()

    def term(value):
        if isinstance(value, terms.IRI):
            return rdflib.URIRef(value.value)
        return rdflib.Literal(value.value, lang=value.lang, datatype=rdflib.URIRef(value.datatype) if value.datatype else None)

    # The bindings the app would use, resolved on an Oxigraph copy of the same files, in a
    # child (its memory is not rdflib's).
    read, write = os.pipe()
    if os.fork() == 0:
        try:
            os.close(read)
            helper = EmbeddedStore(load_store(files))
            found = {}
            for q in catalogue:
                try:
                    raw = {k: v for k, v in PARAMS.items() if q.param(k)}
                    found[q.id] = {k: [type(v).__name__, dataclasses.asdict(v)]
                                   for k, v in catalogue.bind(helper, q, raw).items()}
                except Exception as err:  # noqa: BLE001
                    found[q.id] = str(err)
            with os.fdopen(write, "w") as f:
                json.dump(found, f)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        text = f.read()
    os.wait()
    resolved = json.loads(text) if text else {}
    kinds = {"IRI": terms.IRI, "Literal": terms.Literal}
    bindings_of = {qid: {k: kinds[kind](**fields) for k, (kind, fields) in b.items()}
                   for qid, b in resolved.items() if isinstance(b, dict)}
    for q in catalogue:
        if q.id in skip:
            out["questions"][q.id] = {"error": "no answer on Oxigraph: not run"}
            continue
        if q.id not in bindings_of:
            out["questions"][q.id] = {"error": str(resolved.get(q.id, "no bindings"))[:120]}
            continue
        bindings = {k: term(v) for k, v in bindings_of[q.id].items()}

        def ask():
            return list(itertools.islice(g.query(q.query, initBindings=bindings), JSON_PAGE))

        # Long enough to show whether rdflib is 10x slower than Oxigraph, whatever the cap.
        limit = max(cap, RDFLIB_OVER_OXIGRAPH * ox_times.get(q.id, 0))
        first = in_child(ask, limit)
        if first is None:
            out["questions"][q.id] = {"over_s": limit}
            say(f"    rdflib {q.id}: over {limit:.0f} s (stopped)")
        elif not isinstance(first, float):
            out["questions"][q.id] = {"error": first[:120]}
        elif first > 1.0 or quick:  # one run says enough
            out["questions"][q.id] = {"p50": first * 1000, "p99": first * 1000, "runs": 1}
        else:
            times = timed_runs(ask, 2.0, 10, 3)
            out["questions"][q.id] = {"p50": statistics.median(times), "p99": percentile(times, 99), "runs": len(times)}
    out["peak_mb"] = peak_mb()
    return out


def run_worker(backend: str, root: Path, store_dir: Path, args, skip=(), ox_times=None) -> dict:
    cmd = [sys.executable, __file__, "--worker", backend, "--root", str(root), "--store-dir", str(store_dir),
           "--skip", ",".join(skip), "--rdflib-cap", str(args.rdflib_cap), "--ox-times", json.dumps(ox_times or {})]
    if args.quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"backend": backend, "failed": done.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(done.stdout)


# ------------------------------------------------------------------ HTTP

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Children of every thread of the process: a gthread worker starts its query processes
    from request threads, and /proc lists a child under the thread that started it."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(set(found))


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Server:
    def __init__(self, cmd, env, ready_path: str):
        self.port = free_port()
        self.cmd = cmd  # a function of the port: the command line
        self.env = env
        self.ready_path = ready_path

    def __enter__(self):
        self.started = time.perf_counter()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd(self.port), env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 600
        while True:
            try:
                status, _ = get(self.port, self.ready_path)
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                self.log.seek(0)
                raise RuntimeError(f"server did not start: {self.log.read().decode(errors='replace')[-400:]}")
            time.sleep(0.02)
        self.ready_s = time.perf_counter() - self.started
        return self

    def workers(self) -> list[int]:
        """The gunicorn workers of the master (not multiprocessing's resource tracker)."""
        return [p for p in children(self.proc.pid) if b"resource_tracker" not in cmdline(p)]

    def worker_rss(self) -> list[float]:
        return [rss_mb(p) for p in self.workers()]

    def query_process_rss(self) -> list[float]:
        """The query processes the workers started (QUERY_ISOLATION)."""
        return [rss_mb(c) for w in self.workers() for c in children(w) if b"resource_tracker" not in cmdline(c)]

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def get(port: int, path: str, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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


def question_path(q) -> str:
    query = urlencode({k: v for k, v in PARAMS.items() if q.param(k)})
    return f"/api/questions/{q.id}" + (f"?{query}" if query else "")


def warm_up(port: int, catalogue) -> None:
    """Every question once from 4 connections at a time, so that each worker has started its
    query process and the store's pages are in memory: the steady state is measured."""
    paths = [question_path(q) for q in catalogue]
    threads = [threading.Thread(target=lambda: [get(port, p) for p in paths]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def time_questions(port: int, catalogue, quick: bool) -> dict:
    out = {}
    warm_up(port, catalogue)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for q in catalogue:
        statuses = set()

        def ask():
            status, _ = get(port, question_path(q), conn)
            statuses.add(status)

        times = timed_runs(ask, 0.05 if quick else 1.0, 5 if quick else 200)
        out[q.id] = {"p50": statistics.median(times), "p99": percentile(times, 99), "status": sorted(statuses)}
    conn.close()
    return out


def http_bench(root: Path, store_dir: Path, catalogue, quick: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    env.update({"CODEREF_ROOT": str(root), "CODEREF_STORE_DIR": str(store_dir), "PYTHONPATH": str(REPO)})
    coderef = [sys.executable, "-m", "server.cli", "serve", "--workers", "2", "--quiet", "--store", "persisted"]
    out = {}
    seconds = 2 if quick else 5
    off = {**env, "CODEREF_CACHE_MB": "0"}
    with Server(lambda port: coderef + ["--port", str(port)], off, "/api/questions") as server:
        out["first_ready_s"] = server.ready_s
    restarts = []  # one restart is noise on a shared 2-core machine (0.6-0.96 s seen): the median of 3
    for _ in range(RESTARTS - 1):
        with Server(lambda port: coderef + ["--port", str(port)], off, "/api/questions") as server:
            restarts.append(server.ready_s)
    with Server(lambda port: coderef + ["--port", str(port)], off, "/api/questions") as server:
        out["ready_s"] = statistics.median([*restarts, server.ready_s])
        out["restarts_s"] = [*restarts, server.ready_s]
        out["worker_rss_mb"] = server.worker_rss()
        say("  HTTP questions, cache off")
        out["questions"] = time_questions(server.port, catalogue, quick)
        say("  HTTP throughput: code_summary, cache off")
        out["question_rps"] = throughput(server.port, "/api/questions/code_summary?code=0584T", seconds)
        out["worker_rss_after_mb"] = server.worker_rss()
        out["query_process_rss_mb"] = server.query_process_rss()
    if not quick:
        with Server(lambda port: coderef + ["--port", str(port)], env, "/api/questions") as server:
            say("  HTTP questions, cache on (default size)")
            out["cached"] = time_questions(server.port, catalogue, quick)
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--chdir", str(HERE), "trivial:app"]
    with Server(lambda port: gunicorn + ["--bind", f"127.0.0.1:{port}"], env, "/ping") as server:
        say("  HTTP throughput: trivial Flask endpoint")
        out["trivial_p50"] = statistics.median(timed_runs(lambda: get(server.port, "/ping"), 0.5, 200, 20))
        out["trivial_rps"] = throughput(server.port, "/ping", seconds)
    return out


# ------------------------------------------------------------------ tables

def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def ratio_text(baseline, ours, over=False):
    if not baseline or not ours:
        return "-"
    return f"{'>' if over else ''}{baseline / ours:.0f}x" if baseline / ours >= 10 else f"{'>' if over else ''}{baseline / ours:.1f}x"


def print_tables(name: str, results: dict, http: dict | None, note: str | None) -> dict:
    """The tables of one data set; returns the figures the targets are judged on."""
    figures = {"name": name}
    print(f"\n## {name}\n")
    print("| backend | triples | load/open s | peak RSS MB | rdflib parse / this |")
    print("|---|---|---|---|---|")
    rdf = results.get("rdflib") or {}
    labels = {"oxigraph-memory": "Oxigraph in memory: parse + load (`--store memory`)",
              "build": "Oxigraph persisted: build once, checked against shapes/",
              "oxigraph-persisted": "Oxigraph persisted: open read-only (a server worker)",
              "rdflib": "rdflib Memory (baseline): parse"}
    for key, label in labels.items():
        r = results.get(key)
        if r is None:
            print(f"| {label} | | {note or 'not run'} | | |")
        elif "failed" in r:
            print(f"| {label} | | failed: {r['failed'][0][:100]} | | |")
        else:
            versus = ratio_text(rdf.get("load_s"), r["load_s"]) if key in ("oxigraph-memory", "oxigraph-persisted") else ""
            print(f"| {label} | {r.get('triples', '')} | {fmt(r['load_s'], 3)} | {fmt(r['peak_mb'], 0)} | {versus} |")
            if key == "oxigraph-memory" and r.get("reports_s") is not None:
                print(f"| Oxigraph in memory: its reports, made at the first question that has one | | {fmt(r['reports_s'], 3)} | | |")
            if key == "build":
                made = fmt(r["reports_s"], 3) if r.get("reports_s") is not None else "failed: see the log"
                print(f"| Oxigraph persisted: its reports (server/reports/), made once per build | | {made} | | |")
    mem, per = (results.get(k) or {} for k in ("oxigraph-memory", "oxigraph-persisted"))
    figures["load_ratio_memory"] = rdf["load_s"] / mem["load_s"] if rdf.get("load_s") and mem.get("load_s") else None
    figures["load_ratio_open"] = rdf["load_s"] / per["load_s"] if rdf.get("load_s") and per.get("load_s") else None

    cache_note = "; HTTP cached = the same with the answer cache on (default size), repeated requests" if http and "cached" in http else ""
    print("\nQuestions, milliseconds: p50 / p99 of repeated runs of the API's first JSON page "
          f"({JSON_PAGE} rows; questions marked (report) are answered from the build's report, the others "
          "run their SPARQL); engine = Oxigraph's own time for the bound query (same rows, persisted store); "
          "rdflib = the same query on rdflib Memory (ratio = rdflib / Oxigraph in memory); HTTP = "
          "GET /api/questions/ID on the production server with the answer cache off (CODEREF_CACHE_MB=0); "
          f"HTTP / engine = HTTP p50 over engine p50{cache_note}. "
          f"**bold**: misses a target (HTTP p50 under {TARGETS['http_p50_ms']} ms, under {TARGETS['http_over_engine']}x the engine)\n")
    head = ("| question | rows | memory p50 | memory p99 | persisted p50 | persisted p99 | engine p50 | "
            "rdflib p50 | rdflib / memory |")
    if http:
        head += " HTTP p50 | HTTP p99 | HTTP / engine |" + (" HTTP cached p50 |" if "cached" in http else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    slow_http, slow_ratio, slowest = [], [], None
    for qid, m in (mem.get("questions") or {}).items():
        p = (per.get("questions") or {}).get(qid, {})
        b = (rdf.get("questions") or {}).get(qid, {})
        if "error" in m:
            print(f"| {qid} | error: {m['error']} |")
            if http:  # not answered in process: not measured over HTTP either, a miss
                slow_http.append((qid, None))
                slow_ratio.append((qid, None))
            continue
        if "over_s" in b:
            rd_text, ratio = f"over {b['over_s']:.0f} s", ratio_text(b["over_s"] * 1000, m["p50"], over=True)
        elif "p50" in b:
            rd_text, ratio = fmt(b["p50"], 2), ratio_text(b["p50"], m["p50"])
        else:
            rd_text, ratio = ("error" if "error" in b else (note or "not run")), "-"
        rows = f"{m['rows']}{'+' if m.get('more') else ''}"
        engine = p.get("engine_p50", m.get("engine_p50"))
        label = f"{qid} (report)" if qid in per.get("reports", mem.get("reports", ())) else qid
        line = (f"| {label} | {rows} | {fmt(m['p50'], 2)} | {fmt(m['p99'], 2)} | {fmt(p.get('p50'), 2)} | "
                f"{fmt(p.get('p99'), 2)} | {fmt(engine, 2)} | {rd_text} | {ratio} |")
        if slowest is None or m["p50"] > slowest[1]:
            slowest = (qid, m["p50"], b)
        if http:
            h = http["questions"].get(qid, {})
            h50 = h.get("p50")
            bad_status = [s for s in h.get("status", []) if s != 200]
            over = h50 is not None and (h50 >= TARGETS["http_p50_ms"] or bool(bad_status))
            factor = h50 / engine if h50 and engine and not bad_status else None
            too_slow = factor is not None and factor > TARGETS["http_over_engine"]
            if over:
                slow_http.append((qid, h50 if not bad_status else f"HTTP {','.join(map(str, bad_status))}"))
            if too_slow or bad_status:
                slow_ratio.append((qid, factor if not bad_status else f"HTTP {','.join(map(str, bad_status))}"))
            h50_text = fmt(h50, 2) + (f" (HTTP {','.join(map(str, bad_status))})" if bad_status else "")
            if bad_status:
                ratio_cell = f"**HTTP {','.join(map(str, bad_status))}**"
            else:
                # under 1x: answered from a report, faster than the SPARQL it stands for
                shown = f"{fmt(factor, 0 if factor >= 1 else 3)}x" if factor else "-"
                ratio_cell = f"**{shown}**" if too_slow else shown
            line += f" {'**' + h50_text + '**' if over else h50_text} | {fmt(h.get('p99'), 2)} | {ratio_cell} |"
            if "cached" in http:
                line += f" {fmt(http['cached'].get(qid, {}).get('p50'), 2)} |"
        print(line)
    if slowest:
        qid, ours, b = slowest
        baseline = b.get("p50") or (b["over_s"] * 1000 if "over_s" in b else None)
        figures["slowest"] = (qid, ours, baseline, "over_s" in b)
        if baseline:
            print(f"\nslowest question on Oxigraph in memory: {qid}, {ours:.1f} ms; rdflib "
                  f"{'over ' if 'over_s' in b else ''}{baseline:.0f} ms: {ratio_text(baseline, ours, 'over_s' in b)}")
    errors = {q: b["error"] for q, b in (rdf.get("questions") or {}).items() if "error" in b}
    if errors:
        print("\nrdflib errors: " + "; ".join(f"{q}: {e}" for q, e in errors.items()))
    if http:
        figures.update(ready_s=http["ready_s"], worker_mb=max(http["worker_rss_after_mb"] + http["worker_rss_mb"], default=None),
                       slow_http=slow_http, slow_ratio=slow_ratio)
        queries = http.get("query_process_rss_mb") or []
        print(f"\nProduction server (`coderef serve`: gunicorn, 2 workers, persisted store, query isolation): "
              f"first start after the build {http['first_ready_s']:.2f} s, restart {http['ready_s']:.2f} s "
              f"(launch to first answer; median of {len(http['restarts_s'])} restarts); RSS per worker {', '.join(fmt(x, 0) for x in http['worker_rss_mb'])} MB at "
              f"start, {', '.join(fmt(x, 0) for x in http['worker_rss_after_mb'])} MB after the run"
              + (f"; query processes {', '.join(fmt(x, 0) for x in queries)} MB" if queries else ""))
        print(f"HTTP throughput, 4 keep-alive clients, cache off: code_summary {http['question_rps']:.0f} req/s, "
              f"trivial Flask endpoint (same gunicorn setup) {http['trivial_rps']:.0f} req/s, "
              f"ratio {http['question_rps'] / http['trivial_rps']:.2f}; trivial endpoint p50 {http['trivial_p50']:.2f} ms")
    sys.stdout.flush()
    return figures


def print_targets(figures: dict, validation: list):
    """The issue's targets, judged on the largest data set measured."""
    t = TARGETS
    print(f"\n## Targets (judged on: {figures['name']})\n")
    print("| target | figure | met |")
    print("|---|---|---|")

    def row(what, figure, met):
        print(f"| {what} | {figure} | {'yes' if met else ('**no**' if met is not None else 'not measured')} |")

    ready = figures.get("ready_s")
    row(f"server ready under {t['ready_s']:.0f} s from a persisted store", fmt(ready, 2) + " s" if ready else "-",
        ready < t["ready_s"] if ready else None)
    worker = figures.get("worker_mb")
    row(f"memory per worker under {t['worker_mb']} MB", f"{worker:.0f} MB (largest)" if worker else "-",
        worker < t["worker_mb"] if worker else None)
    slow = figures.get("slow_http")
    row(f"every question p50 under {t['http_p50_ms']} ms over HTTP",
        "all" if slow == [] else (", ".join(f"{q} {_or_stalled(ms, '{:.0f} ms')}" for q, ms in slow) if slow else "-"),
        (not slow) if slow is not None else None)
    over = figures.get("slow_ratio")
    row(f"no question over {t['http_over_engine']}x its engine time",
        "none" if over == [] else (", ".join(f"{q} {_or_stalled(x, '{:.0f}x')}" for q, x in over) if over else "-"),
        (not over) if over is not None else None)
    largest = max((v for v in validation if "fast_s" in v and "synthetic" in v["name"]), key=lambda v: v["triples"],
                  default=None)
    if largest:
        row(f"full validation under {t['validate_s']} s ({largest['name']})", f"{largest['fast_s']:.1f} s",
            largest["fast_s"] < t["validate_s"])
        compared = [v for v in validation if "identical" in v]
        row("validation results identical to pySHACL",
            ", ".join(f"{v['name']}: {'identical' if v['identical'] else 'DIFFERENT'}" for v in compared) or "pySHACL not run",
            all(v["identical"] for v in compared) if compared else None)
        est = largest.get("pyshacl_estimate")
        ref = largest.get("pyshacl") or {}
        if "report" in ref:
            row(f"validation {t['speedup']}x faster than pySHACL", f"{ref['s'] / largest['fast_s']:.0f}x",
                ref["s"] / largest["fast_s"] >= t["speedup"])
        elif est:
            row(f"validation {t['speedup']}x faster than pySHACL", f"~{est / largest['fast_s']:.0f}x (est.: pySHACL not run)",
                est / largest["fast_s"] >= t["speedup"])
    for key, label in (("load_ratio_memory", "load: rdflib parse / Oxigraph parse into memory"),
                       ("load_ratio_open", "load: rdflib parse / open the persisted store")):
        r = figures.get(key)
        row(f"{t['speedup']}x faster than rdflib, {label}", f"{r:.1f}x" if r else "-", r >= t["speedup"] if r else None)
    slowest = figures.get("slowest")
    if slowest:
        qid, ours, baseline, over = slowest
        r = baseline / ours if baseline else None
        row(f"{t['speedup']}x faster than rdflib on the slowest question ({qid})",
            f"{'>' if over else ''}{r:.0f}x" if r else "-", r >= t["speedup"] if r else None)


def _or_stalled(value, form: str) -> str:
    if isinstance(value, str):
        return f"({value})"
    return form.format(value) if value is not None else f"(no answer in {PROBE_LIMIT} s)"


# ------------------------------------------------------------------ main

def bench(name: str, extra: list, work: Path, args, rdflib_estimate: float | None) -> tuple:
    import generate

    say(f"== {name}")
    folder = work / name.split(" (")[0].replace(" ", "-")
    folder.mkdir()
    root = generate.make_root(folder, *extra)
    store_dir = folder / "store"
    results = {}
    stalled = []
    for backend in ("oxigraph-memory", "build", "oxigraph-persisted"):
        say(f"  {backend}")
        results[backend] = run_worker(backend, root, store_dir, args, stalled)
        stalled = results[backend].get("stalled", stalled)
    note = None
    if args.no_rdflib:
        note = "not run (--no-rdflib)"
    elif rdflib_estimate and rdflib_estimate > args.rdflib_budget:
        note = f"not run (est. {rdflib_estimate / 60:.0f} min > --rdflib-budget)"
    else:
        say("  rdflib (baseline)")
        ox_times = {q: m["p50"] / 1000 for q, m in results["oxigraph-memory"].get("questions", {}).items() if "p50" in m}
        results["rdflib"] = run_worker("rdflib", root, store_dir, args, stalled, ox_times)
    http = None
    if not args.no_http:
        say("  HTTP (coderef serve)")
        from server.questions import load_catalogue

        try:
            http = http_bench(root, store_dir, [q for q in load_catalogue(root / "queries") if q.id not in stalled],
                              args.quick)
        except Exception as err:  # noqa: BLE001
            say(f"  HTTP failed: {err}")
            print(f"\nHTTP not measured: {err}")
    figures = print_tables(name, results, http, note)
    return results, figures


def rdflib_cost(results: dict) -> dict | None:
    """rdflib's load seconds and each question's, to extrapolate to the next size."""
    r = results.get("rdflib")
    if not r or "load_s" not in r:
        return None
    return {"load": r["load_s"], "questions": [q.get("p50", q.get("over_s", 0) * 1000) / 1000 for q in r["questions"].values()]}


def rdflib_estimate(previous, size: int, cap: float) -> float | None:
    """Seconds rdflib would take at `size`: load and questions scaled linearly from the last
    size, each question bounded by the cap (and run at least 3 times when fast)."""
    if not previous:
        return None
    prev_size, cost = previous
    scale = size / prev_size
    return cost["load"] * scale + sum(min(t * scale * 3, max(cap, t * scale)) for t in cost["questions"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="synthetic graph sizes, e.g. 10k,100k,1m (default 10k,100k)")
    parser.add_argument("--icd10cm", action="store_true", help="also the real ICD-10-CM module (~1M triples)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 3-5 repetitions, one rdflib run per question, 2 s throughput, no cached HTTP figures")
    parser.add_argument("--runs", type=int, default=3, help="runs of `coderef validate` per data set (median)")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-rdflib", action="store_true")
    parser.add_argument("--no-validation", action="store_true")
    parser.add_argument("--rdflib-cap", type=float, default=60,
                        help=f"seconds an rdflib question may take, or {RDFLIB_OVER_OXIGRAPH}x Oxigraph's time if longer (default 60)")
    parser.add_argument("--rdflib-budget", type=float, default=10800,
                        help="skip rdflib on a data set where its load and questions are estimated to take longer")
    parser.add_argument("--pyshacl-cap", type=float, default=900, help="seconds pySHACL may take (0: never run it)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--store-dir", help=argparse.SUPPRESS)
    parser.add_argument("--skip", default="", help=argparse.SUPPRESS)
    parser.add_argument("--ox-times", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.root), Path(args.store_dir), args.quick,
                                [q for q in args.skip.split(",") if q], args.rdflib_cap, json.loads(args.ox_times))))
        return
    # Stopped with SIGTERM: leave through the context managers, which stop the servers
    # started and remove the temporary folder (data sets, stores, the ICD-10-CM module).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import generate
    import pyoxigraph
    import pyshacl
    import rdflib

    import validation

    load = os.getloadavg()
    print(f"# coderef benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, load average at start "
          f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min: other work shares the machine); "
          f"Python {sys.version.split()[0]}, pyoxigraph {pyoxigraph.__version__}, rdflib {rdflib.__version__}, "
          f"pySHACL {pyshacl.__version__}")
    print(f"\nParameters: {', '.join(f'{k}={v}' for k, v in PARAMS.items())}; synthetic graphs: "
          "benchmarks/generate.py (conforming; the validation runs inject violations)")
    sizes = [s for s in args.sizes.split(",") if s]
    last = None
    with tempfile.TemporaryDirectory(prefix="coderef-bench-") as tmp:
        work = Path(tmp)
        previous = None
        datasets = []
        for size_text in sizes:
            size = generate.parse_size(size_text)
            say(f"generating {size_text} triples")
            data = work / f"synthetic-{size_text}.ttl"
            summary = generate.write(size, data)
            datasets.append((f"synthetic {size_text} + reference", data))
            estimate = rdflib_estimate(previous, size, args.rdflib_cap)
            results, last = bench(f"synthetic {size_text} (+ reference)", [data], work, args, estimate)
            print(f"\nsynthetic part: {summary['triples']:,} triples, {summary['codes']:,} codes in {summary['families']:,} "
                  f"families, {summary['positions']:,} payer positions, {summary['diagnoses']:,} ICD-10-CM concepts")
            previous = (size, rdflib_cost(results)) if rdflib_cost(results) else previous
        icd_module = None
        if args.icd10cm:
            from server.icd10cm_build import build

            say("building the ICD-10-CM module (into the temporary folder, not data/)")
            icd_module = work / "icd10cm.ttl"
            count = build(icd_module).concepts
            print_build_times(build, work, max(args.runs, 1))
            estimate = rdflib_estimate(previous, 1_000_000, args.rdflib_cap)
            results, figures = bench("ICD-10-CM module (real code set) + reference", [icd_module], work, args, estimate)
            print(f"\nICD-10-CM: the whole code set, {count:,} codes, none left out")
        validated = []
        if not args.no_validation:
            say("== validation (benchmarks/validation.py)")
            print("\n## Validation\n", flush=True)
            validation_args = ["--sizes", *sizes, "--runs", str(max(args.runs, 1)), "--pyshacl-cap", str(args.pyshacl_cap)]
            if icd_module:
                validation_args += ["--extra", f"ICD-10-CM module (whole code set) + reference={icd_module}"]
            validated = validation.main(validation_args)
        if last:
            print_targets(last, validated)


def print_build_times(build, work, runs: int) -> None:
    """`build-icd10cm` of the whole set: concepts alone (the build before notes, measured
    in this run as the baseline) and with the notes, median of `runs` each."""
    times = {}
    for label, notes in (("concepts only (baseline)", False), ("concepts, notes and ranges", True)):
        spent = []
        for _ in range(runs):
            start = time.perf_counter()
            built = build(work / "icd10cm-timed.ttl", with_notes=notes)
            spent.append(time.perf_counter() - start)
        times[label] = (statistics.median(spent), built)
    print("\n## ICD-10-CM module build\n\n| build | median s | notes | ratio |\n|---|---|---|---|")
    base = times["concepts only (baseline)"][0]
    for label, (seconds, built) in times.items():
        print(f"| {label} | {seconds:.1f} | {sum(built.notes.values()):,} | {seconds / base:.2f}x |")
    (work / "icd10cm-timed.ttl").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
