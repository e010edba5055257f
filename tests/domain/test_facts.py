"""Issue 16: answers with one row per fact, its sources gathered in one cell (JSON, CSV, HTML)
without losing any, and a label column beside every IRI column that had no words."""

import csv
import io
import re

import pytest

from server.questions import Answer

from support.answers import facts, run

SOURCE_COLUMNS = ("source", "sourceTitle", "sourceUrl")


def pairs(records, fact_columns):
    """(fact, source) pairs of per-source records."""
    return {(tuple(r[c] for c in fact_columns), r["source"]) for r in records}


@pytest.mark.parametrize("qid, code, facts_expected", [
    ("bundled_services", "0584T", 9),  # the issue saw 19 rows for these 9 facts
    ("code_summary", "0584T", 1),  # 4 identical rows
    ("payer_coverage", "0584T", 29),  # 35 rows for 29 positions
])
def test_one_row_per_fact_and_no_source_lost(app, qid, code, facts_expected):
    raw = run(app, qid, code=code)
    gathered = facts(app, qid, code=code)
    assert len(gathered) == facts_expected < len(raw)
    fact_columns = [c for c in raw[0] if c not in SOURCE_COLUMNS]
    assert pairs(raw, fact_columns) == {(tuple(r[c] for c in fact_columns), s["source"])
                                        for r in gathered for s in r["sources"]}
    for row in gathered:  # the scalar columns hold the first source, for a reader of one value
        assert row["source"] == row["sources"][0]["source"]


def test_csv_gathers_every_source_in_its_cell(client):
    body = client.get("/api/questions/code_summary?code=0584T").get_json()
    table = list(csv.DictReader(io.StringIO(client.get("/api/questions/code_summary.csv?code=0584T").get_data(as_text=True))))
    assert len(table) == 1
    sources = body["rows"][0]["sources"]
    assert len(sources) == 4
    assert table[0]["source"].split(" | ") == [s["source"] for s in sources]
    assert table[0]["sourceTitle"].split(" | ") == [s["sourceTitle"] for s in sources]
    assert all(s["sourceTitle"] in table[0]["sources"] for s in sources)


def test_csv_has_a_label_beside_each_iri_column(client):
    reader = csv.reader(io.StringIO(client.get("/api/questions/coverage_matrix.csv?code=0584T").get_data(as_text=True)))
    header = next(reader)
    rows = [dict(zip(header, line)) for line in reader]
    # confidence had only its IRI; now its label follows it
    assert header[header.index("confidence") + 1] == "confidenceLabel"
    assert {r["confidenceLabel"] for r in rows} <= {"confirmed", "secondary", "inferred", "unverified"}
    assert all(r["confidenceLabel"] for r in rows)
    for iri_column, words in (("payer", "payerName"), ("status", "statusLabel"), ("policy", "policyIdentifier")):
        assert words in header and iri_column in header


def test_the_page_shows_each_fact_once_with_all_its_sources(client):
    html = client.get("/questions/bundled_services?code=0584T").get_data(as_text=True)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == 9
    # a cell ends where the macro closes it; the source-kind marks inside it are spans too
    cells = re.findall(r'<span class="sources">(.*?)\n</span>', body, re.S)
    assert len(cells) == 9 and sum(c.count("<a ") for c in cells) == 19
    assert '<th scope="col">sources</th>' in html


def test_an_answer_without_a_source_column_is_left_as_it_is(app):
    from server.questions.facts import gather

    catalogue = app.extensions["coderef.questions"]
    question = catalogue.get("code_summary")
    rows = [{"code": {"type": "uri", "value": "https://w3id.org/coderef/id/cpt/0584T"}}] * 2
    answer = Answer(question, ["code"], rows)
    assert gather(answer) is answer and answer.as_json()["columns"] == ["code"] and len(answer.as_json()["rows"]) == 2
