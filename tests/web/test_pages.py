"""The pages for people, read as a person reads them: the text of a page section, its links.

Every fact asserted here is in the seed publication or the fact sheet (0584T includes its
imaging, so 77001 and 75885 are not separately reportable with it; Cigna's policy MM 0107;
E10.649; modifiers Q0 and 22; 0585T and 0586T as the other approaches; effective 1/1/2020).
Over both backends through the `client` fixture, except what rebuilds the app on a copy.
"""

import csv
import io
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from server.web.views.pages import STATUS_ORDER, group_results

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """A parsed page: its visible text, and per element id the text and links inside it."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.texts: dict[str | None, list[str]] = {None: []}
        self.links: dict[str | None, list[tuple[str, str]]] = {None: []}
        self.open_links: list[list] = []
        self.elements: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        self.handle_data(" ")  # a tag boundary separates words (cells, terms, blocks)
        if tag in VOID:
            return
        self.stack.append((tag, attrs.get("id")))
        if attrs.get("id"):
            self.texts.setdefault(attrs["id"], [])
            self.links.setdefault(attrs["id"], [])
        if tag == "a":
            self.open_links.append([attrs.get("href") or "", [], [i for _, i in self.stack if i]])

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        self.handle_data(" ")
        while self.stack:
            open_tag, _ = self.stack.pop()
            if tag == "a" and open_tag == "a" and self.open_links:
                href, words, ids = self.open_links.pop()
                for key in [None, *ids]:
                    self.links[key].append((href, " ".join("".join(words).split())))
            if open_tag == tag:
                break

    def handle_data(self, data):
        for key in [None, *(i for _, i in self.stack if i)]:
            self.texts[key].append(data)
        for link in self.open_links:
            link[1].append(data)

    def text(self, element_id: str | None = None) -> str:
        """The text a person reads in the element (whitespace folded)."""
        assert element_id in self.texts, f"no element #{element_id}"
        return " ".join("".join(self.texts[element_id]).split())

    def hrefs(self, element_id: str | None = None) -> list[str]:
        return [href for href, _ in self.links[element_id]]

    def link(self, words: str, element_id: str | None = None) -> str:
        """The href of the first link whose text holds `words`."""
        for href, text in self.links[element_id]:
            if words in text:
                return href
        raise AssertionError(f"no link reading {words!r} in #{element_id}: {self.links[element_id][:20]}")

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.elements if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def page(client, path: str, status: int = 200) -> Page:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


# ------------------------------------------------------------------ home and search

def test_home_has_search_and_the_catalogue_by_audience(client):
    home = page(client, "/")
    form = home.find("form", action="/search")
    assert form and form[0].get("method") == "get"
    assert home.find("input", name="q")
    assert "For coding educators" in home.text() and "For payer-policy and revenue-cycle teams" in home.text()
    listed = set(home.hrefs("questions") + home.hrefs())
    for question in client.get("/api/questions").get_json()["questions"]:
        assert f"/questions/{question['id']}" in listed, question["id"]
    text = home.text()
    educators, policy = text.index("For coding educators"), text.index("For payer-policy")
    assert educators < text.index("Services bundled into a code") < policy
    assert policy < text.index("Conflicting coverage positions")


@pytest.mark.parametrize("q", ["0584T&all=1", "0584t&all=1", "portal vein", "hypoglycemia"])
def test_search_finds_0584T(client, q):
    found = page(client, f"/search?q={q}")
    q = q.removesuffix("&all=1")
    assert "/codes/0584T" in found.hrefs()
    assert "Pancreatic islet transplant" in found.text()
    assert found.find("input", name="q", value=q)  # the box keeps what was asked


def test_search_says_why_a_code_matched(client):
    found = page(client, "/search?q=hypoglycemia")
    text = found.text()
    assert "0584T" in text and "CPT Category III" in text
    assert "supported by diagnosis E10.649" in text or "matches its" in text


def test_search_with_no_match_says_so(client):
    assert "No code matches" in page(client, "/search?q=zzqxw").text()


# ------------------------------------------------------------------ code page

@pytest.fixture(scope="module")
def code_0584T(app):
    return page(app.test_client(), "/codes/0584T")


def test_code_page_head_descriptor_status_and_dates(code_0584T):
    head = code_0584T.text()
    assert "0584T Pancreatic islet transplant: cells infused into the portal vein through the skin" in head
    facts = code_0584T.find("aside")
    assert facts
    assert "Status active" in head and "Effective 2020-01-01" in head
    assert "CPT Category III" in head
    # The sunset date was not found: shown as unknown, never guessed.
    assert "Sunset unknown (not found)" in head


def test_code_page_bundled_services_with_codes_not_separately_reportable(code_0584T):
    bundled = code_0584T.text("bundled")
    for notation in ("77001", "77002", "75885", "75887", "76937", "36481"):
        assert notation in bundled
        assert f"/codes/{notation}" in code_0584T.hrefs("bundled")
    assert "Radiological supervision and interpretation" in bundled
    assert "Codes that include 0584T" in bundled and "48160" in bundled


def test_code_page_modifiers_with_guidance(code_0584T):
    modifiers = code_0584T.text("modifiers")
    assert "Q0" in modifiers and "Q1" in modifiers and "22" in modifiers
    assert "Investigational clinical service in an approved clinical research study" in modifiers
    assert "NCT number" in modifiers  # when to use Q0: the trial's number on the claim


def test_code_page_indications_sites_related(code_0584T):
    assert "E10.649" in code_0584T.text("indications")
    assert "/codes/E10.649" in code_0584T.hrefs("indications")
    assert "Z00.6" in code_0584T.text("indications")
    sites = code_0584T.text("sites")
    assert "interventional radiology suite" in sites and "hybrid operating room" in sites
    related = code_0584T.text("related")
    for notation in ("0585T", "0586T", "G0341"):
        assert notation in related
    assert "other approach" in related


def test_code_page_coverage_workflow_sources(code_0584T):
    coverage = code_0584T.text("coverage")
    for payer in ("Cigna", "Aetna", "UnitedHealthcare", "Medicare"):
        assert payer in coverage, payer
    assert "MM 0107" in coverage  # Cigna's policy, with its identifier
    workflow = code_0584T.text("workflow")
    assert "patient aged 45 with type 1 diabetes" in workflow
    assert "portal vein thrombosis" in workflow
    steps = [a for a in code_0584T.find("ol")]
    assert steps, "the workflow steps are an ordered list"
    sources = code_0584T.links["sources"]
    assert len(sources) >= 4
    assert any(href.startswith("https://") for href, _ in sources)


def test_code_page_inlines_the_diagram(code_0584T):
    assert code_0584T.find("svg"), "no inline SVG diagram"
    assert "/codes/0584T.svg" in code_0584T.hrefs("diagram")


def test_code_page_of_a_diagnosis_lists_the_procedures_it_supports(client):
    dx = page(client, "/codes/E10.649")
    assert "Type 1 diabetes mellitus with hypoglycemia without coma" in dx.text()
    assert "/codes/0584T" in dx.hrefs("supports") and "primary indication" in dx.text("supports")
    assert "bundled" not in dx.texts, "a diagnosis has no bundled services section"


@pytest.mark.parametrize("notation, expected", [("G0341", "0584T"), ("0586T", "open incision")])
def test_code_page_of_another_code_of_the_family(client, notation, expected):
    assert expected in page(client, f"/codes/{notation}").text()


def test_unknown_code_is_a_404_page(client):
    missing = page(client, "/codes/9999T", status=404)
    assert "Not found" in missing.text() and "no code 9999T" in missing.text()
    assert "parameter" not in missing.text(), "a page has no parameters to blame"
    assert "/" in missing.hrefs()


def test_malformed_code_is_a_400_page(client):
    bad = page(client, "/codes/NOPE9", status=400)
    assert "NOPE9" in bad.text()


# ------------------------------------------------------------------ the diagram

def test_diagram_svg_is_valid_xml_with_a_node_per_related_code(client):
    response = client.get("/codes/0584T.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG_NS}svg"
    nodes = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "node"]
    labels = [" ".join(t.text or "" for t in node.iter(f"{SVG_NS}text")) for node in nodes]
    notations = {label.split()[0] for label in labels if label.strip()}
    for notation in ("0584T", "0585T", "0586T", "G0341", "48160", "77001", "75885"):
        assert notation in notations, (notation, sorted(notations))
    links = {a.get(XLINK_HREF) for a in root.iter(f"{SVG_NS}a")}
    assert {"/codes/0585T", "/codes/77001", "/codes/0584T#coverage"} <= links
    # Graphviz drew it: laid-out coordinates, edges between the nodes.
    assert len([g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "edge"]) >= len(nodes) - 1
    width = float(root.get("width").removesuffix("pt"))
    assert 300 < width < 1600, "the diagram should be readable at the page's width"


def test_unknown_code_diagram_is_404(client):
    assert client.get("/codes/9999T.svg", headers={"Accept": "text/html"}).status_code == 404


# ------------------------------------------------------------------ questions

def test_question_without_its_parameter_shows_the_form(client):
    asked = page(client, "/questions/bundled_services")
    assert asked.find("input", name="code")
    assert "Fill in code" in asked.text()
    assert not asked.find("table")


def test_question_answer_table_links_downloads_sparql_share(client):
    answer = page(client, "/questions/bundled_services?code=0584T")
    text = answer.text()
    assert answer.find("input", name="code", value="0584T")
    assert "rows" in text and "reported alone by" in text
    table = answer.find("table")
    assert table
    assert "/codes/77001" in answer.hrefs()
    assert "Fluoroscopy guiding a central venous catheter" in text
    csv_href = answer.link("Download CSV")
    json_href = answer.link("JSON")
    assert urlsplit(csv_href).path == "/api/questions/bundled_services.csv"
    assert parse_qs(urlsplit(csv_href).query) == {"code": ["0584T"]}
    assert urlsplit(json_href).path == "/api/questions/bundled_services"
    assert "Show the SPARQL" in text and "SELECT" in text
    share = answer.find("input", id="share")
    assert share and share[0]["value"].endswith("/questions/bundled_services?code=0584T")


def test_question_downloads_are_the_answer(client):
    answer = page(client, "/questions/bundled_services?code=0584T")
    body = client.get(answer.link("Download CSV"))
    assert body.status_code == 200 and body.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True))))
    assert "77001" in {row["reportedAloneByNotation"] for row in rows}
    data = client.get(answer.link("JSON")).get_json()
    assert data["ok"] and len(data["rows"]) == len(rows)


def test_question_cells_fold_notation_and_label_into_one_linked_cell(client):
    answer = page(client, "/questions/related_codes?code=0584T")
    assert "0585T Pancreatic islet transplant: cells infused into the portal vein at laparoscopy" in answer.text()
    headers = [h for h in answer.find("th")]
    assert headers
    assert "related notation" not in answer.text(), "companion columns fold into their code's cell"


@pytest.mark.parametrize("path, status, words", [
    ("/questions/bundled_services?code=9999T", 404, "9999T"),
    ("/questions/bundled_services?code=%3Cx%3E", 400, "<x>"),
])
def test_question_bad_parameter_shows_the_error_and_the_form(client, path, status, words):
    shown = page(client, path, status=status)
    assert words in shown.text() and f"Error {status}" in shown.text()
    assert shown.find("input", name="code")


def test_unknown_question_is_a_404_page(client):
    assert "nope" in page(client, "/questions/nope", status=404).text()


def test_question_with_a_payer_parameter_offers_the_payers(client):
    asked = page(client, "/questions/payer_policies?payer=cigna")
    options = asked.find("option", value="cigna")
    assert options and "selected" in options[0]
    assert "MM 0107" in asked.text() or "0107" in asked.text()


def test_question_durations_read_as_days(client):
    import re

    answer = page(client, "/questions/stale_policies?as_of=2026-01-01")
    text = answer.text()
    assert re.search(r"\b\d+ days\b", text) and not re.search(r"\bP\d+D\b", text)
    assert "TRANS.00010" in text  # Anthem's policy, last reviewed 2023-08-10


def test_question_without_parameters_answers_at_once(client):
    answer = page(client, "/questions/coverage_conflicts")
    assert answer.find("table") or "No rows" in answer.text()
    assert answer.find("input", id="share")


# ------------------------------------------------------------------ coverage

def test_coverage_matrix_cells_coloured_by_status_link_policy_and_source(client):
    matrix = page(client, "/coverage")
    text = matrix.text()
    assert "Coverage matrix" in text
    table = matrix.find("table", class_="matrix")
    assert table
    for notation in ("0584T", "0585T", "0586T"):
        assert f"/codes/{notation}" in matrix.hrefs()
    assert "Cigna Healthcare" in text and "UnitedHealthcare" in text
    positions = [a["class"].split() for a in matrix.find("div") if a.get("class", "").startswith("position ")]
    assert positions and all(cls[1] in STATUS_ORDER for cls in positions)
    assert {"covered-with-criteria", "investigational", "no-published-policy"} <= {cls[1] for cls in positions}
    policy_links = [h for h in matrix.hrefs() if h.startswith("/id/policy/")]
    assert "/id/policy/cigna/mm-0107" in policy_links or any("/cigna/" in h for h in policy_links)
    assert sum(1 for _, words in matrix.links[None] if words.startswith("source")) >= len(positions)


def test_coverage_position_without_a_policy_links_no_other_policy(client):
    """No UnitedHealthcare islet policy was found: its cells say so and borrow no
    other payer's policy (a regression of an OPTIONAL over an unbound ?policy)."""
    matrix = page(client, "/coverage")
    row = matrix.text("payer-uhc")
    assert row.startswith("UnitedHealthcare")
    assert "no policy found" in row
    assert "TRANS.00010" not in row and "MM 0107" not in row


def test_coverage_legend_names_every_status(client):
    matrix = page(client, "/coverage")
    legend = " ".join(a.get("class", "") for a in matrix.find("span") if "status" in a.get("class", "").split())
    for status in ("covered", "covered-with-criteria", "clinical-trial-only", "investigational", "not-covered",
                   "no-published-policy"):
        assert status in legend.split(), status
    assert "no position recorded" in matrix.text()


# ------------------------------------------------------------------ validation

def test_validation_page_summary(client):
    report = page(client, "/validate")
    text = report.text()
    assert "Validation report" in text and "violations" in text and "warnings" in text
    assert "conforms" in text or "does not conform" in text


@pytest.mark.embedded_only
def test_validation_results_group_by_code_most_severe_first(app):
    results = [
        {"severity": "http://www.w3.org/ns/shacl#Warning", "focus": "https://w3id.org/coderef/id/cpt/0585T",
         "message": "b"},
        {"severity": "sh:Violation", "code": "0584T", "codes": ["0584T", "0586T"], "message": "a",
         "focus": "https://w3id.org/coderef/id/statement/x"},
        {"severity": "Info", "focus": "https://w3id.org/coderef/id/cpt/0584T", "message": "c"},
        {"severity": "Violation", "focus": "https://w3id.org/coderef/id/source/x", "message": "d"},
    ]
    with app.test_request_context():
        groups = group_results(results)
    assert [g["code"] for g in groups] == ["0584T", "0585T", None]
    assert [g["href"] for g in groups] == ["/codes/0584T", "/codes/0585T", None]
    assert [r["severity"] for r in groups[0]["results"]] == ["violation", "info"]
    assert groups[0]["worst"] == "violation" and groups[1]["worst"] == "warning"
    assert groups[0]["results"][0]["other_codes"] == ["0586T"]


SELF_BUNDLE = """
<https://w3id.org/coderef/id/statement/0584T-bundle-imaging>
    <https://w3id.org/coderef/ontology#reportedAloneBy> <https://w3id.org/coderef/id/cpt/0584T> .
"""


@pytest.mark.embedded_only
def test_validation_page_lists_a_broken_rule_under_its_code(root_copy):
    from server import create_app

    (root_copy / "data" / "zz-broken.ttl").write_text(SELF_BUNDLE, encoding="utf-8")
    client = create_app({"TESTING": True, "ROOT": str(root_copy)}).test_client()
    report = page(client, "/validate")
    text = report.text()
    assert "does not conform" in text
    group = next(g for g in report.find("section") if g.get("class") == "code-group")
    heading = report.text(group["aria-labelledby"])
    assert heading.startswith("0584T")
    assert "VIOLATION" in text.upper() and "cannot be not separately reportable with itself" in text
    assert "/codes/0584T" in report.hrefs(group["aria-labelledby"])
    assert "A code does not bundle itself" in text  # the rule by its name


# ------------------------------------------------------------------ source kinds (issue 15)

def test_every_source_shown_says_what_kind_of_source_it_is(client):
    """A copy on a third-party site, an unrelated host and our own notes are marked as such
    beside the link, with the kind's definition on hover; the primary ones too."""
    code = page(client, "/codes/0584T")
    marks = {(a.get("class"), a.get("title")) for a in code.find("span") if (a.get("class") or "").startswith("source-kind")}
    kinds = {cls.split()[1] for cls, _ in marks}
    assert {"primary", "secondary", "unrelated-host", "own"} <= kinds
    assert all(title for _, title in marks), "each mark explains its kind"
    text = code.text()
    # the modifier list reached through a proxy address, on the modifiers' rows
    assert "Revised medical coding modifiers (list, reached through a proxy address) proxy or unrelated host" in text
    coverage = page(client, "/coverage")
    assert "copy" in coverage.text("payer-premera").split()
    assert "our notes" in coverage.text("payer-uhc")
    spans = [a for a in coverage.find("span") if (a.get("class") or "").startswith("source-kind")]
    assert any(a["title"].startswith("copy on a third-party site: ") for a in spans), "the full kind on hover"
