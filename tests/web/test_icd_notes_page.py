"""The ICD-10-CM notes on a diagnosis code's page (issue 17): grouped by kind, inherited ones
say where from, each target a link to its code or range."""

import re

import simple_icd_10_cm as icd


def section(client, code) -> str:
    response = client.get(f"/codes/{code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = re.search(r'<section id="icd-notes".*?</section>', html, re.S)
    assert found, f"/codes/{code} has no ICD-10-CM notes section"
    return found.group(0)


def test_the_notes_of_e10_649_are_grouped_by_kind_with_links(client):
    html = section(client, "E10.649")
    kinds = re.findall(r'<h3 data-kind="([a-z0-9-]+)">', html)
    assert kinds[:2] == ["excludes1", "includes"] and "use-additional-code" in kinds and "note" in kinds
    assert html.count("<li>") == len(icd.get_excludes1("E10")) + 1 + len(icd.get_includes("E10")) + 1 + 1
    assert '<a class="notation" href="/codes/E11"' in html  # type 2 diabetes mellitus (E11.-)
    assert 'href="/id/icd10cm/range/P70-P74"' in html  # chapter 4's Excludes1, a block
    assert 'from <a href="/codes/E10.64">E10.64</a>' in html


def test_a_procedure_code_page_has_no_notes_section(client):
    html = client.get("/codes/0584T").get_data(as_text=True)
    assert 'id="icd-notes"' not in html


def test_a_range_target_leads_to_its_linked_data_page(client):
    response = client.get("/id/icd10cm/range/P70-P74", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "P70-P74" in response.get_data(as_text=True)
