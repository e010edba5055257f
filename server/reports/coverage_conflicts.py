"""Report of coverage_conflicts: conflicting positions and policies, in force on a day.

Its only parameter, as_of, is a row filter over date keys (the question's last FILTER), so
the extraction is the question itself run with as_of unbound (that FILTER then keeps every
row) and its six keys projected too: the rows and keys come from the question's own text.
A row kept for several key sets (a policy with several successors, say) is one output row
on a day when any of them is in force: the question's DISTINCT is applied after its filter.
"""

from pathlib import Path

from ..sparql.dataset import query as union_query
from . import day, in_force_sql, pack, row_json, sort_key, term, unpack

QUESTION = Path(__file__).resolve().parents[2] / "queries" / "coverage_conflicts.rq"
QUERY_SHA = "bbcdcc526aeb7104"  # that file as this report reads it (reports.query_sha)

COLUMNS = ["kind", "code", "notation", "payer", "payerName", "position", "status", "clinicalContext", "policy",
           "effectiveDate", "endDate", "otherPosition", "otherStatus", "otherClinicalContext", "otherPolicy",
           "otherEffectiveDate", "otherEndDate", "note", "source", "sourceTitle", "sourceUrl", "otherSource",
           "otherSourceTitle", "otherSourceUrl"]
ORDER = ["kind", "payerName", "notation", "position", "otherPosition", "sourceTitle", "otherSourceTitle"]
KEYS = {"startKey": "start_key", "endKey": "end_key", "replacedKey": "replaced_key",
        "otherStartKey": "other_start_key", "otherEndKey": "other_end_key", "otherReplacedKey": "other_replaced_key"}

# Rows are numbered in the question's order (id); their key sets are beside them, indexed by
# id with every key, so that a day's answer walks that index in order, reading no table,
# and stops at its cap.
SCHEMA = f"""
CREATE TABLE coverage_conflicts (id INTEGER PRIMARY KEY, row BLOB NOT NULL);
CREATE TABLE coverage_conflicts_keys (id INTEGER NOT NULL, {", ".join(f"{c} TEXT" for c in KEYS.values())});
CREATE INDEX coverage_conflicts_keys_id ON coverage_conflicts_keys (id, {", ".join(KEYS.values())});
"""


def extraction_query() -> str:
    """The question's text with the date keys added to its projection."""
    text = QUESTION.read_text(encoding="utf-8")
    head = "\nSELECT DISTINCT "
    if text.count(head) != 1:
        raise ValueError(f"{QUESTION.name}: expected one outer SELECT DISTINCT to extend")
    return text.replace(head, head + " ".join(f"?{k}" for k in KEYS) + "\n       ", 1)


def extract(store, db) -> None:
    keys_of = {}  # row JSON -> its key sets
    rows = {}  # row JSON -> the row
    for solution in union_query(store, extraction_query()):
        row = {c: term(solution, c) for c in COLUMNS}
        text = row_json(row)
        rows.setdefault(text, row)
        keys_of.setdefault(text, set()).add(tuple(
            None if solution[k] is None else solution[k].value for k in KEYS))
    # ties on the ORDER BY are broken by the row's text, so that a build numbers rows alike
    ordered = sorted(keys_of, key=lambda text: ([sort_key(rows[text][c]) for c in ORDER], text))
    db.executemany("INSERT INTO coverage_conflicts VALUES (?, ?)", ((i, pack(rows[text])) for i, text in enumerate(ordered)))
    db.executemany(f"INSERT INTO coverage_conflicts_keys VALUES (?{', ?' * len(KEYS)})",
                   ((i, *keys) for i, text in enumerate(ordered) for keys in keys_of[text]))


def answer(db, bindings: dict, cap: int):
    on = day(bindings)
    if on is None:
        found = db.execute("SELECT row FROM coverage_conflicts ORDER BY id LIMIT ?", (cap + 1,))
    else:
        found = db.execute(
            "SELECT r.row FROM (SELECT DISTINCT id FROM coverage_conflicts_keys AS k"
            f" WHERE {in_force_sql('k.')} AND {in_force_sql('k.other_')} ORDER BY id LIMIT :cap) AS f"
            " JOIN coverage_conflicts AS r ON r.id = f.id ORDER BY f.id",
            {"day": on, "cap": cap + 1})
    rows = [unpack(packed) for (packed,) in found]
    return rows[:cap], len(rows) > cap
