"""Validation time: `coderef validate` (the fast path: shapes as SPARQL on Oxigraph) against
pySHACL (`--engine pyshacl`, the reference) and pyrudof (rudof, the Rust engine:
benchmarks/rudof_validate.py), each run as a command, on the same files, with the same
report compared result by result (pyrudof on severity, focus, path, value and constraint
component: its messages and shapes are not written as ours).

Data sets: the shipped reference alone, then the reference with a synthetic graph of
benchmarks/generate.py at each size, with --violations of every kind the generator injects
(so there is something to find), and any --extra file (the ICD-10-CM module). Each is a
ROOT of its own (generate.make_root), validated by `coderef validate --root ROOT`.

pySHACL's time grows faster than the graph (it runs each SHACL-SPARQL query once per focus
node), and so does pyrudof's: each is run only while its time, extrapolated from its runs
before (a power law through the last two, or the square from one), stays under
--pyshacl-cap (--pyrudof-cap) seconds, and killed at the cap; beyond, the table says "not
run" with the extrapolation, marked as an estimate.
Tables on stdout, progress on stderr; figures, never a test.

    .venv/bin/python benchmarks/validation.py [--sizes 10k 100k 1m] [--runs 3] [--pyshacl-cap 900] [--pyrudof-cap S]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

import generate  # noqa: E402

KEY = ("severity", "focus", "path", "value", "shape", "message")
RUDOF_KEY = ("severity", "focus", "path", "value", "component")


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def run_validate(root: Path, engine: str, cap: float | None = None, jobs: int | None = None) -> dict:
    """`coderef validate --root ROOT --format json` in a process of its own: wall seconds, peak
    RSS (the largest of it and its forked workers), exit code and the JSON report; or
    {"timeout": cap} when it was killed at the cap."""
    if engine == "pyrudof":
        cmd = [sys.executable, str(HERE / "rudof_validate.py"), str(root)]
    else:
        cmd = [sys.executable, "-m", "server.cli", "validate", "--root", str(root), "--format", "json", "--engine", engine]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEREF_")}
    env["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        peak = 0.0
        while True:
            peak = max(peak, tree_peak_mb(proc.pid))
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if cap is not None and time.perf_counter() - start > cap:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                return {"timeout": cap}
            time.sleep(0.05)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):
            return {"error": (err.read().decode(errors="replace").strip().splitlines() or ["?"])[-1][:160]}
        report = json.loads(out.read())
    return {"s": wall, "rss_mb": peak, "code": code, "report": report}


def tree_peak_mb(pid: int) -> float:
    """The largest peak RSS (VmHWM) of a process and its descendants, read while they run
    (getrusage's ru_maxrss would include the peak of the process that forked it)."""
    peak = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, ValueError):
        return peak
    return max([peak, *(tree_peak_mb(int(c)) for c in children)])


def results(report: dict, key=KEY) -> Counter:
    """The report's results as a multiset, as the differential test compares them."""
    return Counter(tuple(r[k] for k in key) for r in report["results"])


def estimate(points: list, triples: int) -> float | None:
    """pySHACL seconds at `triples`, from (triples, seconds) measured before: a power law
    through the last two points (exponent at least 1), or the square from one."""
    if not points:
        return None
    (n2, t2) = points[-1]
    exponent = 2.0
    if len(points) > 1:
        n1, t1 = points[-2]
        if n2 > n1 and t2 > 0 and t1 > 0:
            exponent = max(1.0, math.log(t2 / t1) / math.log(n2 / n1))
    return t2 * (triples / n2) ** exponent


def measure(name: str, root: Path, runs: int, cap: float, points: list, jobs: int | None = None,
            triples_hint: int | None = None, rudof_cap: float | None = None, rudof_points: list | None = None) -> dict:
    """One data set: the fast path `runs` times (median), pySHACL and pyrudof once each when feasible."""
    row = {"name": name, "fast": [], "pyshacl": None, "pyrudof": None}
    for n in range(runs):
        say(f"  coderef validate ({n + 1}/{runs})")
        row["fast"].append(run_validate(root, "fast", jobs=jobs))
        if "report" not in row["fast"][-1]:
            break
    fast = row["fast"][-1]
    if "report" not in fast:
        return row
    report = fast["report"]
    row["triples"] = report["triples"]
    row["results"] = len(report["results"])
    row["counts"] = report["counts"]
    row["fast_s"] = statistics.median(r["s"] for r in row["fast"])
    row["fast_rss"] = max(r["rss_mb"] for r in row["fast"])
    for engine, limit, seen, key in (("pyshacl", cap, points, KEY),
                                     ("pyrudof", cap if rudof_cap is None else rudof_cap,
                                      [] if rudof_points is None else rudof_points, RUDOF_KEY)):
        guess = estimate(seen, report["triples"])
        row[f"{engine}_estimate"] = guess
        if limit <= 0:
            row[engine] = {"skipped": f"not run (--{engine}-cap 0)"}
        elif guess is not None and guess > limit:
            row[engine] = {"skipped": f"not run (est. {_duration(guess)} > cap {limit:.0f} s)"}
        else:
            say(f"  {engine} (cap {limit:.0f} s)")
            ref = run_validate(root, engine, cap=limit)
            row[engine] = ref
            if "report" in ref:
                seen.append((report["triples"], ref["s"]))
                ref["identical"] = results(ref["report"], key) == results(report, key)
                ref["results"] = len(ref["report"]["results"])
    ref = row["pyshacl"]
    if "report" in ref:  # the names benchmarks/run.py reads
        row["identical"], row["pyshacl_results"] = ref["identical"], ref["results"]
    return row


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _cells(r: dict, engine: str) -> list:
    """s, peak MB, results, identical, / fast of one reference engine's run."""
    ref = r[engine] or {}
    if "report" in ref:
        return [f"{ref['s']:.1f}", f"{ref['rss_mb']:.0f}", str(ref["results"]), "yes" if ref["identical"] else "**NO**",
                f"{ref['s'] / r['fast_s']:.0f}x"]
    why = ref.get("skipped") or (f"not run (over {ref['timeout']:.0f} s)" if "timeout" in ref
                                 else f"failed: {ref.get('error', '?')}")
    est = r.get(f"{engine}_estimate")
    return [why, "", "", "", f"~{est / r['fast_s']:.0f}x (est.)" if est else ""]


def table(rows: list, runs: int) -> str:
    lines = [
        f"`coderef validate --root ROOT --format json` as a command (wall seconds: the median of {runs} "
        "for the fast path, one run of pySHACL and of pyrudof; peak RSS of the largest process; "
        "pyrudof's results compared on severity, focus, path, value and constraint component)\n",
        "| data set | triples | results | fast s | fast peak MB | pySHACL s | pySHACL MB | pySHACL results | identical "
        "| pySHACL / fast | pyrudof s | pyrudof MB | pyrudof results | identical | pyrudof / fast |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "fast_s" not in r:
            problem = r["fast"][-1].get("error") or "timed out"
            lines.append(f"| {r['name']} | | | failed: {problem} |" + " |" * 11)
            continue
        cells = [*_cells(r, "pyshacl"), *_cells(r, "pyrudof")]
        lines.append(f"| {r['name']} | {r['triples']:,} | {r['results']} | {r['fast_s']:.2f} | {r['fast_rss']:.0f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["10k", "100k"], help="synthetic sizes (10k, 100k, 1m, 250k, ...)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the fast path per data set (median)")
    parser.add_argument("--violations", type=int, default=3, help="violations of each kind injected in the synthetic graphs")
    parser.add_argument("--pyshacl-cap", type=float, default=900, help="seconds pySHACL may take (0: never run it)")
    parser.add_argument("--pyrudof-cap", type=float, help="seconds pyrudof may take (default: --pyshacl-cap; 0: never)")
    parser.add_argument("--jobs", type=int, help="coderef validate --jobs (default: its own, the CPUs)")
    parser.add_argument("--extra", action="append", default=[], metavar="LABEL=FILE",
                        help="another data set: the reference with FILE in data/modules/")
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped reference on its own")
    args = parser.parse_args(argv)
    rows, points, rudof_points = [], [], []
    with tempfile.TemporaryDirectory(prefix="coderef-validation-") as tmp:
        work = Path(tmp)
        sets = [] if args.no_shipped else [("shipped reference", None)]
        for size in args.sizes:
            path = work / f"synthetic-{size}.ttl"
            say(f"generating {size} synthetic triples, {args.violations} violations of each kind")
            summary = generate.write(generate.parse_size(size), path, violations=args.violations)
            sets.append((f"reference + synthetic {size} ({sum(summary['injected'].values())} injected)", path))
        for extra in args.extra:
            label, _, file = extra.partition("=")
            sets.append((label, Path(file)))
        for n, (name, path) in enumerate(sets):
            say(f"== validation: {name}")
            folder = work / f"set-{n}"
            folder.mkdir()
            root = generate.make_root(folder, *([path] if path else []))
            rows.append(measure(name, root, max(args.runs, 1), args.pyshacl_cap, points, args.jobs,
                                rudof_cap=args.pyrudof_cap, rudof_points=rudof_points))
    print(table(rows, max(args.runs, 1)), flush=True)
    return rows


if __name__ == "__main__":
    main()
