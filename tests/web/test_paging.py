"""Paging of question answers: `limit` and `offset` over HTTP (JSON, HTML), a `next` link,
and CSV still the whole (capped) answer. The sources question is long on the shipped data."""

from urllib.parse import parse_qs, urlsplit

import pytest

from server.questions import HeaderError, read_question

from support.answers import facts, run

QID = "sources"


def walk(client, url):
    """Every row, following `next` links from `url`; and the pages' lengths."""
    rows, sizes = [], []
    while url:
        body = client.get(url).get_json()
        assert body["ok"] is True, body
        rows += body["rows"]
        sizes.append(len(body["rows"]))
        url = body["next"]
    return rows, sizes


def test_pages_put_together_are_the_whole_answer(app, client):
    whole = facts(app, QID)
    assert len(whole) > 120  # the premise: a long answer on the shipped data
    rows, sizes = walk(client, f"/api/questions/{QID}?limit=50")
    assert rows == whole
    assert sizes[:-1] == [50] * (len(sizes) - 1) and 0 < sizes[-1] <= 50


def test_a_page_names_its_place_and_the_next_one(client):
    body = client.get(f"/api/questions/{QID}?limit=10&offset=20").get_json()
    assert (body["offset"], body["limit"], len(body["rows"])) == (20, 10, 10)
    assert body["truncated"] is False
    nxt = urlsplit(body["next"])
    assert nxt.path == f"/api/questions/{QID}"
    assert parse_qs(nxt.query) == {"offset": ["30"], "limit": ["10"]}


def test_the_next_link_keeps_the_question_parameters(client):
    body = client.get("/api/questions/sources?code=0584T&limit=3").get_json()
    assert parse_qs(urlsplit(body["next"]).query) == {"code": ["0584T"], "offset": ["3"], "limit": ["3"]}


def test_default_json_page_holds_a_shipped_answer_whole(app, client):
    body = client.get(f"/api/questions/{QID}").get_json()
    assert body["rows"] == facts(app, QID) and body["next"] is None and body["offset"] == 0


def test_csv_is_the_whole_answer_unless_paged(app, client):
    whole = facts(app, QID)
    csv_text = client.get(f"/api/questions/{QID}.csv").get_data(as_text=True)
    assert csv_text.count("\r\n") == len(whole) + 1
    paged = client.get(f"/api/questions/{QID}.csv?limit=7&offset=7").get_data(as_text=True)
    assert paged.count("\r\n") == 8


def test_past_the_end_is_an_empty_page(client):
    body = client.get(f"/api/questions/{QID}?offset=4999").get_json()
    assert body["rows"] == [] and body["next"] is None and body["truncated"] is False


def test_the_result_cap_still_cuts_and_is_reported(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions["coderef.graph"].store.settings, "RESULT_CAP", 25)
    # The cap cuts the rows of (fact, source) the engine gives: the facts gathered from them are fewer.
    kept = facts(app, QID)
    assert 10 < len(kept) < 25 and sum(len(r["sources"]) for r in kept) == 25
    first = client.get(f"/api/questions/{QID}?limit=10").get_json()
    assert first["truncated"] is False and first["next"]
    last = client.get(first["next"])
    body = last.get_json()
    assert body["rows"] == kept[10:20] or body["next"]
    rows, _ = walk(client, f"/api/questions/{QID}?limit=10")
    assert rows == kept
    while body["next"]:
        last = client.get(body["next"])
        body = last.get_json()
    assert body["truncated"] is True and last.headers["X-Coderef-Truncated"] == "true"
    assert client.get(f"/api/questions/{QID}?limit=26").status_code == 400


@pytest.mark.parametrize("query, name", [
    ("limit=0", "limit"), ("limit=-1", "limit"), ("limit=ten", "limit"), ("limit=5001", "limit"),
    ("offset=-3", "offset"), ("offset=1e3", "offset"), ("offset=5000", "offset"),
])
def test_bad_paging_values_are_400_naming_the_parameter(client, query, name):
    response = client.get(f"/api/questions/{QID}?{query}")
    body = response.get_json()
    assert response.status_code == 400 and body["ok"] is False
    assert f"'{name}'" in body["error"]


def test_html_page_shows_one_page_with_links(app, client):
    whole = run(app, QID)
    html = client.get(f"/questions/{QID}?limit=40&offset=40").get_data(as_text=True)
    assert html.count("<tr>") == 41  # the header row and one page
    assert "rows 41–80" in html
    assert 'rel="next" href="/questions/sources?offset=80&amp;limit=40"' in html
    assert 'rel="prev" href="/questions/sources?offset=0&amp;limit=40"' in html
    # The downloads give the whole answer, not the page.
    assert 'href="/api/questions/sources.csv"' in html
    assert len(whole) > 80


def test_html_default_page(client):
    html = client.get(f"/questions/{QID}").get_data(as_text=True)
    assert html.count("<tr>") == 101 and 'rel="next"' in html and 'rel="prev"' not in html


def test_bad_paging_value_on_the_html_page_is_400(client):
    response = client.get(f"/questions/{QID}?limit=many")
    assert response.status_code == 400 and "limit" in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("name", ["limit", "offset", "format"])
def test_a_question_may_not_take_a_reserved_name(tmp_path, name):
    path = tmp_path / "q.rq"
    path.write_text(f"#+ summary: s\n#+ description: d\n#+ params: [{{name: {name}, type: integer}}]\n"
                    "#+ tags: [t]\n\nSELECT ?source WHERE { ?source ?p ?o }\n", encoding="utf-8")
    with pytest.raises(HeaderError, match=f"'{name}' is kept for the HTTP interface"):
        read_question(path)
