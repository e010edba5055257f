"""The claim-check form in a real headless Chromium: a coder starts from the sample claim,
checks it, adds a bundled line and sees the error. Screenshots under tests/artifacts/."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_check_the_sample_claim_then_add_a_bundled_line(page, screenshot):
    page.goto("/check-claim")
    expect(page.get_by_role("heading", name="Check a claim")).to_be_visible()
    expect(page.get_by_label("Payer")).to_have_value("medicare")
    expect(page.get_by_label("Lines")).to_have_value("0584T, Q0, 1")

    page.get_by_role("button", name="Check the claim").click()
    status = page.get_by_role("status").first
    expect(status).to_contain_text("No errors")
    expect(page.locator('li[data-rule="payer-coverage"]')).to_contain_text("NCD 260.3.1")
    screenshot("claims-01-clean-trial-claim")

    page.get_by_label("Lines").fill("0584T, Q0, 1\n77001")
    page.get_by_label("Place of service").fill("24")
    page.get_by_role("button", name="Check the claim").click()
    error = page.locator('li[data-rule="bundled-service"][data-severity="error"]')
    expect(error).to_contain_text("77001 is included in 0584T (line 1)")
    expect(page.locator('li[data-rule="excluded-place-of-service"]')).to_contain_text("POS 24")
    expect(page.get_by_role("status").first).to_contain_text("1 error to fix")
    # the form keeps what was typed, and a fact links to its resource
    expect(page.get_by_label("Lines")).to_have_value("0584T, Q0, 1\n77001")
    error.get_by_role("link", name="0584T-bundle-77001").click()
    expect(page).to_have_url(re.compile(r"/id/statement/0584T-bundle-77001$"))
    page.go_back()
    screenshot("claims-02-bundled-line")


def test_a_malformed_line_is_said_in_words(page):
    page.goto("/check-claim")
    page.get_by_label("Lines").fill("05")
    page.get_by_role("button", name="Check the claim").click()
    expect(page.get_by_role("alert")).to_contain_text("Line 1 code: '05' is not a CPT or HCPCS Level II code")
