"""The coverage_conflicts report: its graphs give every kind of row, and one row is kept while
any of its keys is in force. Its rows against its SPARQL: tests/reports/test_report_rows.py.

The "cases" graph (support/report_cases.py) adds to the shipped reference what the shipped and
generated graphs lack, among it positions whose policies have several successors (one
output row kept under several date keys).
"""

from server.reports import coverage_conflicts as report
from support.reports_diff import bind, catalogue, whole

QUESTION = catalogue().get("coverage_conflicts")
CASES = "coverage_conflicts cases"



def bound(store, raw):
    return bind(store, QUESTION, raw)


def full(db, bindings):
    return whole(report, db, bindings)


def kinds(rows):
    return {row["kind"]["value"] for row in rows}


def test_the_graphs_exercise_every_kind(report_db):
    generated = full(report_db(QUESTION.id, "generated"), {})
    # each injected conflicting position conflicts with the position it was made beside
    assert sum(row["otherPosition"]["value"].endswith("-conflicting") for row in generated
               if "otherPosition" in row) >= 3
    cases = full(report_db(QUESTION.id, CASES), {})
    assert kinds(cases) == {"overlapping positions with different statuses", "sources conflict on a position",
                            "sources conflict on a policy"}
    pairs = {(row["position"]["value"][-2:], row["otherPosition"]["value"][-2:])
             for row in cases if "otherPosition" in row}
    # a3 ended before the others started, a4 was not retrieved, c1 has no payer, c2 no status
    assert pairs == {("a1", "a2"), ("a1", "a5"), ("a2", "a5"), ("b1", "b2")}


def test_a_row_is_kept_while_any_of_its_keys_is_in_force(report_graphs, report_db):
    db = report_db(QUESTION.id, CASES)
    several = db.execute("SELECT id FROM coverage_conflicts_keys GROUP BY id HAVING COUNT(*) > 1").fetchall()
    assert several, "the cases should give one row under several key sets"

    def a1_a2(on):
        """The rows pairing a1 with a2 on a day: one per source of a1 (Alpha, beta)."""
        return [row for row in full(db, bound(report_graphs[CASES], {"as_of": on}))
                if "otherPosition" in row and row["position"]["value"].endswith("/a1")
                and row["otherPosition"]["value"].endswith("/a2")]

    # a1's policy v1 is replaced by v2 (2022-01-01) and v3 (2023-03): the question keeps a1
    # until both have started; while both key sets are in force, each row comes once
    assert len(a1_a2("2021-12-31")) == 2
    assert len(a1_a2("2023-02-28")) == 2
    assert a1_a2("2023-03-01") == []
