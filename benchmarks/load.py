"""A bounded load client for the production server: N concurrent clients for T seconds
across pages, questions and /sparql, optionally with more clients firing an explosive
query all the time (--explosive K: K of them at once). Prints requests, throughput, p50/p99 per kind and the errors by status,
then stops by itself.

    python benchmarks/load.py [--clients 50] [--duration 60] [--workers 2] [--explosive [K]]
                              [--explosive-query Q] [--url http://127.0.0.1:5000]

Without --url it starts `coderef serve` (gunicorn, persisted store in a temporary folder)
on a free port of 127.0.0.1 and stops it at the end. Standard library only: one thread per
client, a fresh connection per request (gunicorn's sync workers close each one anyway).
An answer counts as wrong, and as an error, when a question or /sparql answer differs from
the one the idle server gave before the load started.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SMALL_SELECT = """PREFIX cr: <https://w3id.org/coderef/ontology#>
PREFIX schema: <https://schema.org/>
SELECT ?payerName ?policy WHERE {
  ?policy cr:position ?position .
  ?position cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ; cr:payer ?payer .
  ?payer schema:name ?payerName .
} ORDER BY ?payerName ?policy"""
# A cross product over all triples. With SELECT * the result cap cuts it early; the COUNT
# form (--explosive-query count) must enumerate every combination, which no cap stops.
EXPLOSIVE = {
    "select": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "count": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
}
SPARQL_JSON = {"Accept": "application/sparql-results+json"}

# The 0584T family and its Medicare counterparts: clients ask about each in turn.
CODES = ("0584T", "0585T", "0586T", "G0341", "G0342", "G0343")


def mix() -> list:
    """(kind, method, path, body, headers, checked): a client walks this list round-robin
    from its own starting point, so every kind is asked all the time."""
    pages = [("page", "GET", "/", None, {}, False), ("page", "GET", "/coverage", None, {}, False)]
    pages += [("page", "GET", f"/codes/{code}", None, {}, False) for code in CODES]
    questions = [("question", "GET", f"/api/questions/{q}?code={code}", None, {}, True)
                 for code in CODES
                 for q in ("bundled_services", "code_summary", "payer_coverage", "billing_guidance")]
    sparql = [
        ("sparql", "GET", "/sparql?" + urllib.parse.urlencode({"query": SMALL_SELECT.replace("0584T", code)}),
         None, SPARQL_JSON, True)
        for code in CODES
    ] + [
        ("sparql", "POST", "/sparql", SMALL_SELECT.replace("0584T", code).encode(),
         {**SPARQL_JSON, "Content-Type": "application/sparql-query"}, True)
        for code in CODES
    ]
    # Interleaved so that a client's next request is of another kind.
    kinds = [pages, questions, sparql]
    out = []
    for i in range(max(map(len, kinds))):
        out += [k[i % len(k)] for k in kinds]
    return out


MIX = mix()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(host: str, port: int, method: str, path: str, body, headers, timeout: float):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("X-Coderef-Cache")
    finally:
        conn.close()


def canonical(body: bytes):
    """The part of an answer that must not change under load."""
    data = json.loads(body)
    if "results" in data:  # SPARQL results: order is fixed by ORDER BY
        return data["results"]["bindings"]
    return data.get("rows"), data.get("ok")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)  # kind -> seconds of answered requests
        self.errors = defaultdict(Counter)  # kind -> status (or exception name) -> count
        self.hits = 0  # answers the server took from its cache
        self.samples = {}  # status -> one answer of that status, to say why

    def add(self, kind: str, seconds: float, problem=None):
        with self.lock:
            self.times[kind].append(seconds)
            if problem is not None:
                self.errors[kind][problem] += 1


def client(n: int, target, expected: dict, stop_at: float, timeout: float, rec: Recorder):
    host, port = target
    i = n
    while time.monotonic() < stop_at:
        kind, method, path, body, headers, checked = MIX[i % len(MIX)]
        i += 1
        started = time.perf_counter()
        try:
            status, data, cached = request(host, port, method, path, body, headers, timeout)
        except (OSError, http.client.HTTPException) as err:
            rec.add(kind, time.perf_counter() - started, type(err).__name__)
            continue
        if cached == "hit":
            with rec.lock:
                rec.hits += 1
        problem = None
        if status != 200:
            problem = status
            with rec.lock:
                rec.samples.setdefault(status, f"{method} {path[:60]}: {data[:200].decode(errors='replace')}")
        elif checked:
            try:
                if canonical(data) != expected[(method, path, body)]:
                    problem = "wrong answer"
            except ValueError:
                problem = "not JSON"
        rec.add(kind, time.perf_counter() - started, problem)


def explosive_client(target, query: str, stop_at: float, timeout: float, rec: Recorder):
    host, port = target
    n = 0
    while time.monotonic() < stop_at:
        # A new text each time (a comment line): no cache can spare the server any of them.
        n += 1
        path = "/sparql?" + urllib.parse.urlencode({"query": f"# explosive request {n}\n{query}"})
        started = time.perf_counter()
        try:
            status, _, _ = request(host, port, "GET", path, None, SPARQL_JSON, timeout)
            problem = None if status in (200, 503, 504) else status
            label = status
        except (OSError, http.client.HTTPException) as err:
            problem = label = type(err).__name__
        # The explosive client's answers are not errors of the service when refused cleanly;
        # what it got is shown apart.
        rec.add("explosive", time.perf_counter() - started, problem)
        with rec.lock:
            rec.errors["explosive (answers)"][label] += 1


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Serve:
    """`coderef serve` on a free port of 127.0.0.1, its store in a temporary folder."""

    def __init__(self, workers: int, threads: int, query_timeout: float | None = None, cache: bool = True):
        self.workers = workers
        self.threads = threads
        self.query_timeout = query_timeout
        self.cache = cache
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="coderef-load-"))

    def __enter__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
        env["CODEREF_STORE_DIR"] = str(self.folder / "store")
        if self.query_timeout:
            env["CODEREF_QUERY_TIMEOUT"] = str(self.query_timeout)
        if not self.cache:
            env["CODEREF_CACHE_MB"] = "0"
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port), "--workers",
                   str(self.workers), "--threads", str(self.threads), "--quiet", "--store", "persisted"]
        self.log = open(self.folder / "serve.log", "w+b")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        started = time.monotonic()
        while True:
            try:
                if request("127.0.0.1", self.port, "GET", "/api/questions", None, {}, 10)[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() - started > 240:
                self.log.seek(0)
                raise RuntimeError(f"coderef serve did not start:\n{self.log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.1)
        self.ready_s = time.monotonic() - started
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=35)
        except subprocess.TimeoutExpired:  # a worker stuck in a query ignores SIGTERM
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.seek(0)
        self.server_log = self.log.read().decode(errors="replace")
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def run(target, args) -> tuple[Recorder, float]:
    host, port = target
    expected = {}
    for kind, method, path, body, headers, checked in MIX:
        status, data, _ = request(host, port, method, path, body, headers, 60)
        if status != 200:
            raise RuntimeError(f"{method} {path} answers {status} before any load: {data[:300]!r}")
        if checked:
            expected[(method, path, body)] = canonical(data)
    rec = Recorder()
    started = time.monotonic()
    stop_at = started + args.duration
    threads = [threading.Thread(target=client, args=(n, target, expected, stop_at, args.timeout, rec), daemon=True)
               for n in range(args.clients)]
    query = EXPLOSIVE.get(args.explosive_query, args.explosive_query)
    threads += [threading.Thread(target=explosive_client, args=(target, query, stop_at, args.timeout, rec), daemon=True)
                for _ in range(args.explosive)]
    for t in threads:
        t.start()
    elapsed = args.duration
    for t in threads:  # each finishes its request in flight, bounded by the client timeout
        t.join(max(0.0, stop_at + args.timeout + 5 - time.monotonic()))
        if t is threads[args.clients - 1]:  # throughput over the normal clients' time, not the explosive one's
            elapsed = time.monotonic() - started
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        rec.errors["(all)"]["client still waiting at the end"] += stuck
    return rec, elapsed


def report(rec: Recorder, elapsed: float, args, note: str):
    print(note)
    print(f"{args.clients} clients for {args.duration:g} s (ran {elapsed:.1f} s)"
          + (f", plus {args.explosive} explosive client{'s' * (args.explosive > 1)} at once: "
             f"{EXPLOSIVE.get(args.explosive_query, args.explosive_query)}" if args.explosive else ""))
    header = f"{'kind':<12}{'requests':>10}{'req/s':>9}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}  errors"
    print(header)
    print("-" * len(header))
    kinds = [k for k in ("page", "question", "sparql", "explosive") if k in rec.times]
    total = []
    for kind in kinds + ["all"]:
        times = total if kind == "all" else rec.times[kind]
        if kind == "all":
            errors = Counter()
            for k in ("page", "question", "sparql"):
                errors.update(rec.errors[k])
        else:
            errors = rec.errors[kind]
            if kind != "explosive":
                total.extend(times)
        if kind == "all":
            print("-" * len(header))
        shown = ", ".join(f"{n}x {s}" for s, n in sorted(errors.items(), key=str)) or "0"
        print(f"{kind + (' (normal)' if kind == 'all' else ''):<12}{len(times):>10}{len(times) / elapsed:>9.1f}"
              f"{percentile(times, 50) * 1000:>10.0f}{percentile(times, 99) * 1000:>10.0f}"
              f"{(max(times) if times else float('nan')) * 1000:>10.0f}  {shown}")
    if args.explosive:
        answers = rec.errors["explosive (answers)"]
        print("explosive client got: " + (", ".join(f"{n}x {s}" for s, n in sorted(answers.items(), key=str)) or "nothing"))
    for status, sample in sorted(rec.samples.items(), key=str):
        print(f"a {status} answer: {sample}")
    if rec.errors["(all)"]:
        print("unfinished: " + ", ".join(f"{n}x {s}" for s, n in rec.errors["(all)"].items()))
    if total:
        print(f"answered from the server's cache: {rec.hits}/{len(total)} ({100 * rec.hits / len(total):.0f}%)")
    normal_errors = sum(sum(rec.errors[k].values()) for k in ("page", "question", "sparql"))
    p99 = percentile(total, 99) * 1000
    print(f"target (zero errors, p99 under 250 ms): {'met' if normal_errors == 0 and p99 < 250 else 'NOT met'} "
          f"({normal_errors} errors, p99 {p99:.0f} ms)")
    if args.explosive:
        worst = max(total) * 1000 if total else float("nan")
        met = normal_errors == 0 and p99 < 1000 and worst < 5000
        print(f"target beside explosive clients (zero errors, p99 under 1 s, max under 5 s): "
              f"{'met' if met else 'NOT met'} ({normal_errors} errors, p99 {p99:.0f} ms, max {worst:.0f} ms)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start coderef serve)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers when starting the server")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker when starting the server")
    parser.add_argument("--no-cache", action="store_true", help="start the server with its answer cache off")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one request may take (default 30)")
    parser.add_argument("--query-timeout", type=float, default=None,
                        help="the server's query time limit in seconds (default: its own, 10)")
    parser.add_argument("--explosive", type=int, nargs="?", const=1, default=0, metavar="K",
                        help="K more clients (1 when no K is given) each firing a cross-product query all the time")
    parser.add_argument("--explosive-query", default="select",
                        help="'select' (SELECT *, cut by the result cap), 'count' (COUNT(*), no cap helps) or a query")
    args = parser.parse_args(argv)

    machine = f"nproc {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    if args.url:
        parts = urllib.parse.urlsplit(args.url)
        rec, elapsed = run((parts.hostname, parts.port or 80), args)
        report(rec, elapsed, args, f"{args.url} ({machine})")
        return 0
    with Serve(args.workers, args.threads, args.query_timeout, not args.no_cache) as server:
        print(f"coderef serve: {args.workers} gunicorn workers, persisted store, ready in {server.ready_s:.1f} s",
              file=sys.stderr)
        rec, elapsed = run(("127.0.0.1", server.port), args)
    setup = (f"{args.workers} workers x {args.threads} threads, answer cache "
             f"{'off' if args.no_cache else 'on'}, query limit {args.query_timeout or 10:g} s")
    report(rec, elapsed, args, f"coderef serve on 127.0.0.1:{server.port}, {setup} ({machine})")
    killed = server.server_log.count("WORKER TIMEOUT")
    if killed:
        print(f"gunicorn killed {killed} worker(s) that ran past its 60 s timeout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
