"""Issue 16 in a real headless Chromium, as a person sees it: one row per fact with its sources,
a page for every scheme's code, ICD-10-CM hierarchy, coverage as of a day, the questions and API
pages, errors in a coder's words, forgiving search, a code page that folds, /changes grouped.
Screenshots go to tests/artifacts/issue16-*.png."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth + 1")


def test_a_question_shows_one_row_per_fact_with_its_sources(page, screenshot):
    page.goto("/questions/bundled_services?code=0584T")
    rows = page.locator("table.answer tbody tr")
    expect(rows).to_have_count(9)
    cell = rows.first.locator(".sources")
    expect(cell).to_contain_text("Sources:")
    assert page.locator("table.answer .sources a").count() == 19
    expect(page.get_by_role("columnheader", name="sources")).to_be_visible()
    screenshot("issue16-01-bundled-one-row-per-fact")


def test_payer_coverage_does_not_scroll_sideways(page, screenshot):
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto("/questions/payer_coverage?code=0584T")
    expect(page.locator("table.answer tbody tr")).to_have_count(29)
    assert no_sideways_scroll(page)
    screenshot("issue16-02-payer-coverage")


def test_the_kx_page_says_it_applies_to_0584T_and_22_offers_both_pages(page, screenshot):
    page.goto("/codes/kx")
    expect(page).to_have_url(re.compile(r"/codes/modifier/KX$"))
    applies = page.locator("#applies")
    expect(applies.get_by_role("heading", name="Codes it applies to")).to_be_visible()
    expect(applies.get_by_role("link", name="0584T", exact=True)).to_be_visible()
    screenshot("issue16-03-modifier-KX")
    page.goto("/codes/22")
    expect(page.get_by_role("heading", level=1)).to_contain_text("22 is the notation of 2 codes")
    page.get_by_role("link", name="Place of service 22").click()
    expect(page).to_have_url(re.compile(r"/codes/pos/22$"))
    expect(page.locator("#performed").get_by_role("link", name="0584T", exact=True)).to_be_visible()
    screenshot("issue16-04-pos-22")


def test_an_icd10cm_page_shows_billable_parent_and_children(page, screenshot):
    page.goto("/codes/E10.64")
    facts = page.get_by_role("complementary", name="Status and dates")
    expect(facts).to_contain_text("not billable")
    expect(facts.get_by_role("link", name="E10.6")).to_be_visible()
    below = page.locator("#hierarchy")
    expect(below.get_by_role("link", name="E10.649")).to_be_visible()
    below.get_by_role("link", name="E10.649").click()
    expect(page.get_by_role("complementary", name="Status and dates")).to_contain_text("billable")
    screenshot("issue16-05-icd10cm")


def test_coverage_as_of_a_day_with_marks_and_a_csv(page, screenshot):
    page.goto("/coverage")
    page.get_by_role("textbox", name="As of").fill("2024-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"as_of=2024-01-01"))
    expect(page.get_by_role("status").first).to_contain_text("As of 2024-01-01")
    expect(page.locator("table.matrix .mark.ended").first).to_contain_text("ended 2022-05-30")
    expect(page.locator("table.matrix .mark.undated").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "coverage-2024-01-01.csv"
    screenshot("issue16-06-coverage-as-of")


def test_the_questions_page_and_the_api_viewer(page, screenshot):
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Questions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Every question the reference answers")
    page.get_by_role("link", name="Codes a modifier applies to").click()
    expect(page).to_have_url(re.compile(r"/questions/codes_using_modifier$"))
    page.goto("/docs/api")
    # Swagger UI, from this server, draws the operations of /api/openapi.json
    expect(page.locator(".swagger-ui .opblock-summary-path", has_text="/api/search").first).to_be_visible(timeout=20000)
    screenshot("issue16-07-api-docs")


def test_an_error_says_where_to_go_in_a_coders_words(page, screenshot):
    page.goto("/questions/modifiers?code=22")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Code: 22 names more than one code")
    alert.get_by_role("link", name="/codes/modifier/22").click()
    expect(page).to_have_url(re.compile(r"/codes/modifier/22$"))
    page.goto("/check-claim")
    page.get_by_label("Place of service").fill("2a")
    page.get_by_label("Lines").fill("05\n0584T, Q, x")
    page.get_by_role("button", name="Check the claim").click()
    problems = page.get_by_role("alert").locator("li")
    expect(problems).to_have_count(4)  # all at once: the place, line 1's code, line 2's modifier and units
    expect(problems.nth(0)).to_contain_text("Place of service")
    expect(problems.nth(1)).to_contain_text("Line 1 code")
    expect(problems.nth(3)).to_contain_text("Line 2 units")
    screenshot("issue16-08-claim-every-error")


@pytest.mark.parametrize("q, where", [("hypoglycaemia", "0584T"), ("Lantidra", "0584T"), ("isletcell", "0584T")])
def test_search_forgives(page, q, where):
    page.goto("/")
    page.get_by_role("searchbox", name="Code or words").fill(q)
    page.keyboard.press("Enter")
    expect(page.get_by_role("list", name="Results").get_by_role("link", name=where, exact=True)).to_be_visible()


def test_search_jumps_to_an_exact_notation(page, screenshot):
    page.goto("/")
    page.get_by_role("searchbox", name="Code or words").fill("modifier 22")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/codes/modifier/22$"))
    screenshot("issue16-09-search-modifier-22")


def test_the_code_page_glances_first_and_folds(page, screenshot):
    page.goto("/codes/0584T")
    glance = page.get_by_role("list", name="At a glance")
    expect(glance).to_contain_text("Includes 9 services")
    expect(glance).to_contain_text("payers:")
    summary = page.locator("#coverage details > summary")
    expect(page.locator("#coverage table")).to_be_visible()
    summary.click()
    expect(page.locator("#coverage table")).to_be_hidden()
    assert no_sideways_scroll(page)
    screenshot("issue16-10-code-page-folded")


def test_changes_has_a_baseline_picker_and_folds_the_new(page, screenshot):
    page.goto("/changes")
    picker = page.get_by_label("Compare with")
    expect(picker).to_be_visible()
    assert picker.locator("option").count() >= 2
    first_new = page.locator("details.new-things").first
    expect(first_new.locator("ul")).to_be_hidden()
    first_new.locator("summary").click()
    expect(first_new.locator("ul")).to_be_visible()
    screenshot("issue16-11-changes")
