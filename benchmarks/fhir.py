"""FHIR terminology time: /fhir operations against /api/codes/0584T, measured in the same run.

In-process (the real app, Flask's test client, the embedded store, the answer cache off):
each request is made --runs times after one warm-up; medians and p90 in milliseconds, and
each operation's median as a ratio of the baseline's (the code page's JSON, which asks
every question about 0584T). A tx-resource request carries HL7's simple code system and
value sets, as the tx-ecosystem tests send them. Figures, never a test.

    .venv/bin/python benchmarks/fhir.py [--runs 50]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import create_app  # noqa: E402

TX = Path(__file__).resolve().parent.parent / "tests" / "fhir" / "tx" / "simple"
CPT, ICD = "http://www.ama-assn.org/go/cpt", "http://hl7.org/fhir/sid/icd-10-cm"
SETS = "https://w3id.org/coderef/fhir/ValueSet/"
GETS = {
    "baseline /api/codes/0584T": "/api/codes/0584T",
    "$lookup 0584T": f"/fhir/CodeSystem/$lookup?system={CPT}&code=0584T",
    "$validate-code E10.64 (not billable)": f"/fhir/CodeSystem/$validate-code?url={ICD}&code=E10.64",
    "$subsumes E10.64 E10.649": f"/fhir/CodeSystem/$subsumes?system={ICD}&codeA=E10.64&codeB=E10.649",
    "$expand indications-0584T": f"/fhir/ValueSet/$expand?url={SETS}indications-0584T",
    "ValueSet $validate-code E10.649": f"/fhir/ValueSet/$validate-code?url={SETS}indications-0584T&system={ICD}&code=E10.649",
    "$translate 0584T (all maps)": f"/fhir/ConceptMap/$translate?system={CPT}&code=0584T",
}


def tx_body() -> bytes:
    resources = [json.loads(p.read_text(encoding="utf-8-sig")) for p in sorted(TX.glob("*.json"))
                 if p.name.startswith(("codesystem-simple", "valueset-all", "valueset-filter-isa"))]
    return json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": "http://hl7.org/fhir/test/ValueSet/simple-filter-isa"}]
        + [{"name": "tx-resource", "resource": r} for r in resources]}).encode()


def timed(call, runs: int) -> list[float]:
    call()  # warm-up
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        response = call()
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    client = create_app({"CACHE_MB": 0}).test_client()
    body = tx_body()
    calls = {name: (lambda path=path: client.get(path)) for name, path in GETS.items()}
    calls["$expand with tx-resource (simple)"] = lambda: client.post(
        "/fhir/ValueSet/$expand", data=body, content_type="application/fhir+json")
    rows = []
    for n, (name, call) in enumerate(calls.items(), 1):
        print(f"[{n}/{len(calls)}] {name}", file=sys.stderr, flush=True)
        times = sorted(timed(call, args.runs))
        rows.append((name, statistics.median(times), times[int(len(times) * 0.9) - 1]))
    base = rows[0][1]
    print(f"| request ({args.runs} runs, in-process, cache off) | median ms | p90 ms | median / baseline |")
    print("|---|---:|---:|---:|")
    for name, median, p90 in rows:
        print(f"| {name} | {median:.2f} | {p90:.2f} | {median / base:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
