"""Issue 16: /coverage says the day it speaks of, marks ended and undated positions, and comes as CSV;
ICD-10-CM code pages show the billable flag, the parent and the codes below."""

import csv
import io
import re


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_coverage_names_its_day_and_marks_ended_and_undated_positions(client):
    html = client.get("/coverage?as_of=2024-01-01").get_data(as_text=True)
    assert "As of 2024-01-01" in text(html.split('class="as-of"', 1)[1].split("</p>", 1)[0])
    table = html.split("<table", 1)[1]
    cells = re.findall(r'<span class="mark ended">([^<]+)</span>', table)
    assert cells == ["ended 2022-05-30"] * 3  # Blue Cross and Blue Shield of Minnesota's IV-09-008, on 0584T-0586T
    assert '<div class="position investigational ended">' in table or 'ended">' in table
    assert '<span class="mark undated">undated</span>' in table


def test_before_a_position_starts_it_is_marked_not_yet_in_force(client):
    html = client.get("/coverage?as_of=2019-01-01").get_data(as_text=True)
    assert '<span class="mark future">from ' in html and '<span class="mark ended">' not in html


def test_a_bad_as_of_is_400_in_a_coders_words(client):
    response = client.get("/coverage?as_of=01/02/2024")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.get_data(as_text=True) and "As of" in response.get_data(as_text=True)


def test_coverage_csv_one_row_per_position_with_labels_marks_and_every_source(client):
    response = client.get("/coverage.csv?as_of=2024-01-01")
    assert response.mimetype == "text/csv" and "coverage-2024-01-01.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    page = client.get("/coverage?as_of=2024-01-01").get_data(as_text=True)
    assert len(rows) == page.count('<div class="position ')
    for row in rows:
        assert row["payerName"] and row["statusLabel"] and row["notation"]
        assert len(row["source"].split(" | ")) == len(row["sourceTitle"].split(" | "))
    ended = [r for r in rows if r["mark"].startswith("ended")]
    assert {r["notation"] for r in ended} >= {"0584T"} and all(r["endDate"] for r in ended)
    assert {r["mark"] for r in rows if not r["effectiveDate"]} == {"undated"}


def test_an_icd10cm_page_shows_billable_parent_and_children(client):
    leaf = text(client.get("/codes/E10.649").get_data(as_text=True))
    assert "Billable billable" in leaf and "Parent E10.64 " in leaf
    category = client.get("/codes/E10.64").get_data(as_text=True)
    assert "not billable" in text(category.split("<aside", 1)[1].split("</aside>", 1)[0])
    below = category.split('id="hierarchy"', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'class="notation" href="/codes/([^"]+)"', below) == ["E10.641", "E10.649"]


def test_the_api_gives_the_hierarchy_too(client):
    code = client.get("/api/codes/E10.64").get_json()["code"]
    assert code["billable"] is False and [c["notation"] for c in code["broader"]] == ["E10.6"]
    assert [c["notation"] for c in code["narrower"]] == ["E10.641", "E10.649"]
