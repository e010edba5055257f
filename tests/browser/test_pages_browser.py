"""A person's path through the site in a real headless Chromium: search, a code page, a
bundled service, a question with its CSV, the coverage matrix. Each page leaves a
screenshot under tests/artifacts/."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def rgb(page, selector: str, prop: str = "background-color") -> str:
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")


def test_search_code_page_and_a_bundled_service(page, screenshot):
    page.goto("/")
    expect(page.get_by_role("heading", name="Look up a billing code")).to_be_visible()
    expect(page.get_by_role("heading", name="For coding educators")).to_be_visible()
    screenshot("01-home")

    page.get_by_role("searchbox", name="Code or words").fill("portal vein")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=portal\+vein$"))
    results = page.get_by_role("list", name="Results")
    expect(results.get_by_role("link", name="0584T", exact=True)).to_be_visible()
    screenshot("02-search-portal-vein")

    results.get_by_role("link", name="0584T", exact=True).click()
    expect(page).to_have_url(re.compile(r"/codes/0584T$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Pancreatic islet transplant: cells infused into the portal vein through the skin")
    facts = page.get_by_role("complementary", name="Status and dates")
    expect(facts).to_contain_text("active")
    expect(facts).to_contain_text("2020-01-01")
    coverage = page.locator("#coverage")
    expect(coverage).to_contain_text("Cigna Healthcare")

    # The diagram is on the page, fits its frame, and its text is big enough to read.
    diagram = page.locator("figure.diagram svg")
    expect(diagram).to_be_visible()
    frame = page.locator("figure.diagram").bounding_box()
    box = diagram.bounding_box()
    assert box["width"] <= frame["width"] and 300 < box["height"] < 1500, box
    font_px = page.eval_on_selector(
        "figure.diagram svg g.node text", "t => t.getBoundingClientRect().height")
    assert font_px >= 9, f"diagram text {font_px}px high: too small to read"
    screenshot("03-code-0584T")

    bundled = page.locator("#bundled")
    expect(bundled).to_contain_text("Not separately reportable")
    bundled.get_by_role("link", name="77001", exact=True).click()
    expect(page).to_have_url(re.compile(r"/codes/77001$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("77001")
    expect(page.get_by_role("heading", level=1)).to_contain_text("fluoroscopy guiding")
    # From the bundled service back to the code that includes it.
    expect(page.locator("#bundled")).to_contain_text("Codes that include 77001")
    screenshot("04-code-77001")


def test_question_form_sparql_and_csv_download(page, screenshot):
    page.goto("/questions/bundled_services")
    expect(page.get_by_role("heading", level=1)).to_have_text("Services bundled into a code")
    form = page.get_by_role("form", name="Parameters")
    form.get_by_label("code", exact=True).fill("0584T")
    page.get_by_role("button", name="Answer").click()
    expect(page).to_have_url(re.compile(r"/questions/bundled_services\?code=0584T$"))
    expect(page.get_by_role("status")).to_contain_text("rows")
    table = page.locator("table.answer")
    expect(table.get_by_role("link", name="77001", exact=True).first).to_be_visible()
    expect(page.locator("#share")).to_have_value(re.compile(r"/questions/bundled_services\?code=0584T$"))

    sparql = page.locator("details.sparql pre")
    expect(sparql).to_be_hidden()
    page.get_by_text("Show the SPARQL").click()
    expect(sparql).to_be_visible()
    expect(sparql).to_contain_text("SELECT")
    screenshot("05-question-bundled-services")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows and "reportedAloneByNotation" in rows[0]
    assert {"77001", "77002", "75885", "75887", "76937", "36481"} <= {r["reportedAloneByNotation"] for r in rows}
    shown = int(page.get_by_role("status").inner_text().split()[0])
    assert len(rows) == shown


def test_coverage_matrix_colours_cells_by_status_with_a_legend(page, screenshot):
    page.goto("/coverage")
    expect(page.get_by_role("heading", level=1)).to_have_text("Coverage matrix")
    matrix = page.locator("table.matrix")
    columns = matrix.locator("thead th").all_inner_texts()
    assert columns[:4] == ["Payer", "0584T", "0585T", "0586T"], columns
    cigna = matrix.locator("tbody tr", has=page.get_by_role("rowheader", name=re.compile("Cigna")))
    cell = cigna.locator("td").nth(columns.index("0584T") - 1)
    expect(cell).to_contain_text("covered with criteria")
    expect(cell).to_contain_text("investigational")
    expect(cell.get_by_role("link", name="MM 0107").first).to_have_attribute("href", re.compile(r"^/id/policy/"))
    expect(cell.get_by_role("link", name=re.compile("^source")).first).to_have_attribute("href", re.compile(r"^https://"))

    # Cells are tinted with the legend's colour for their status, and statuses differ.
    legend = page.get_by_role("list", name="Legend")
    for status in ("covered with criteria", "investigational", "not covered", "clinical trial only"):
        expect(legend).to_contain_text(status)
    investigational = rgb(page, ".legend .status.investigational")
    criteria = rgb(page, ".legend .status.covered-with-criteria")
    assert investigational != criteria
    assert rgb(page, "table.matrix .position.investigational") == investigational
    assert rgb(page, "table.matrix .position.covered-with-criteria") == criteria
    # Every code column is on screen at the usual laptop width (no sideways scrolling).
    wrap = page.locator(".table-wrap").first
    assert page.eval_on_selector(".table-wrap", "w => w.scrollWidth <= w.clientWidth + 1"), wrap.bounding_box()
    screenshot("06-coverage")


def test_validation_report_reads_as_a_checklist(page, screenshot):
    page.goto("/validate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Validation report")
    expect(page.get_by_label("Summary")).to_contain_text("violations")
    screenshot("07-validate")
