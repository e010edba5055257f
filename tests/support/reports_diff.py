"""Differential checks of a report (server/reports/) against its question's SPARQL.

    graphs()                      the shipped reference, and it plus a generated 10k graph
                                  with injected violations (pyoxigraph stores, made once)
    report_db(store, module)      the module's tables filled from the store (SQLite in memory)
    param_sets(store, question)   parameter sets worth checking: every payer and none, days
                                  on and beside the dates of the graph, ...
    difference(store, db, question, module, raw) -> str | None   what differs, or None

Rows tied on the question's ORDER BY may come in any order (Oxigraph's order among them is
its own): the check compares the ORDER BY keys row by row, and the rows as multisets within
each run of equal keys.
"""

import datetime
import json
import sqlite3
import sys
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))

from server import config as cfg  # noqa: E402
from server.rdf.parsing import load_store  # noqa: E402
from server.sparql.dataset import query as union_query  # noqa: E402
from server.questions import load_catalogue  # noqa: E402
from server.store.embedded import EmbeddedStore  # noqa: E402

BIG = 10**9


@lru_cache(maxsize=None)
def catalogue():
    return load_catalogue(REPO / "queries")


@lru_cache(maxsize=None)
def generated(tmp_root: str, triples: int = 10_000, violations: int = 3) -> Path:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate  # noqa: PLC0415

    out = Path(tmp_root) / f"generated-{triples}-{violations}.ttl"
    if not out.exists():
        generate.write(triples, out, seed=584, violations=violations)
    return out


@lru_cache(maxsize=None)
def graphs(tmp_root: str) -> dict:
    """name -> pyoxigraph Store."""
    files = cfg.data_files(cfg.resolve({}))
    files = [f for f in files if "modules" not in f.parts]  # the optional ICD-10-CM module: not needed
    return {"shipped": load_store(files), "generated": load_store(files + [generated(tmp_root)])}


def report_db(store: ox.Store, module) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(module.SCHEMA)
    module.extract(store, db)
    db.commit()
    return db


def _dates(store: ox.Store) -> list[str]:
    """Days at and beside the dates the graph states (starts, ends, reviews), and a few more."""
    found = set()
    for q in union_query(store, """SELECT DISTINCT ?d WHERE { ?s ?p ?d FILTER(DATATYPE(?d) IN
                             (<http://www.w3.org/2001/XMLSchema#date>, <http://www.w3.org/2001/XMLSchema#gYearMonth>,
                              <http://www.w3.org/2001/XMLSchema#gYear>)) }"""):
        text = q["d"].value[:10]
        try:
            if len(text) == 10:
                days = [datetime.date.fromisoformat(text)]
            else:  # a month or a year: its first and last days
                year, month = int(text[:4]), int(text[5:7]) if len(text) >= 7 else None
                first = datetime.date(year, month or 1, 1)
                following = datetime.date(year + (month == 12 or month is None), (month % 12 + 1) if month else 1, 1)
                days = [first, following - datetime.timedelta(days=1)]
        except ValueError:
            continue
        for d in days:
            for delta in (-1, 0, 1):
                found.add((d + datetime.timedelta(days=delta)).isoformat())
    found.update(["1990-01-01", "2020-06-15", "2024-01-01", "2026-11-27", "2099-12-31"])
    return sorted(found)


def payers(store: ox.Store) -> list[str]:
    """Payer slugs (the last segment of each cr:Payer IRI)."""
    return sorted({s["p"].value.rstrip("/").rsplit("/", 1)[-1] for s in union_query(store, 
        "SELECT ?p WHERE { ?p a <https://w3id.org/coderef/ontology#Payer> }")})


def param_sets(store: ox.Store, question, days: int = 40, extra=()) -> list[dict]:
    """Raw parameter sets ({"payer": "medicare", "as_of": "2024-01-01"}) for a question:
    each payer (and none where optional) crossed with no day (where optional) and `days`
    days spread over those the graph states (its boundaries and the days beside them)."""
    names = {p.name: p for p in question.params}
    all_days = _dates(store)
    step = max(1, len(all_days) // days)
    chosen = all_days[::step]
    day_choices = ([None] if "as_of" in names and not names["as_of"].required else []) + chosen \
        if "as_of" in names else [None]
    payer_choices = [None]
    if "payer" in names:
        payer_choices = payers(store) + ([] if names["payer"].required else [None])
    sets = []
    for payer in payer_choices:
        for d in day_choices:
            raw = {}
            if payer is not None:
                raw["payer"] = payer
            if d is not None:
                raw["as_of"] = d
            sets.append(raw)
    for more in extra:
        sets.extend({**s, **more} for s in list(sets))
    return sets


def bind(store: ox.Store, question, raw: dict) -> dict:
    """Raw parameters bound as the API binds them, over this store."""
    return catalogue().bind(EmbeddedStore(store, {"QUERY_ISOLATION": False}), question, raw)


def whole(module, db: sqlite3.Connection, bindings: dict) -> list:
    """The report's uncapped answer (no "more rows" after it)."""
    rows, more = module.answer(db, bindings, BIG)
    assert not more, "more rows after an uncapped answer"
    return rows


def _key(row: dict, order) -> tuple:
    return tuple(json.dumps(row.get(v), sort_keys=True) for v in order)


def difference(store: ox.Store, db: sqlite3.Connection, question, module, raw: dict) -> str | None:
    """None when the report answers `raw` as the question's SPARQL does; else what differs."""
    bindings = bind(store, question, raw)
    expected = EmbeddedStore(store, {"QUERY_ISOLATION": False}).select(question.query, bindings=bindings, cap=BIG)
    rows, more = module.answer(db, bindings, BIG)
    if list(module.COLUMNS) != list(expected.columns):
        return f"columns {module.COLUMNS} != {expected.columns}"
    if more:
        return "report says more rows follow an uncapped answer"
    if len(rows) != len(expected.rows):
        return f"{raw}: {len(rows)} rows, SPARQL {len(expected.rows)}"
    order = module.ORDER
    for i, (a, b) in enumerate(zip(rows, expected.rows)):
        if _key(a, order) != _key(b, order):
            return f"{raw}: row {i} order keys differ:\n report {_key(a, order)}\n sparql {_key(b, order)}"

    def runs(seq):
        out, last = [], None
        for r in seq:
            k = _key(r, order)
            if k != last:
                out.append([])
                last = k
            out[-1].append(json.dumps(r, sort_keys=True))
        return [sorted(g) for g in out]

    for a, b in zip(runs(rows), runs(expected.rows)):
        if a != b:
            only_r = sorted(set(a) - set(b))[:2]
            only_s = sorted(set(b) - set(a))[:2]
            return f"{raw}: rows differ\n only report: {only_r}\n only sparql: {only_s}"
    return None


def check_pages(module, db: sqlite3.Connection, bindings: dict, caps) -> int:
    """Assert that each capped answer is the first `cap` rows of the whole one, with `more`
    true exactly when rows were cut; how many of `caps` cut it."""
    complete = whole(module, db, bindings)
    cut = 0
    for cap in caps:
        rows, more = module.answer(db, bindings, cap)
        assert rows == complete[:cap] and more == (len(complete) > cap), (bindings, cap, len(rows), more, len(complete))
        cut += more
    return cut
