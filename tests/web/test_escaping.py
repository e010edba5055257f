"""A hostile literal in the data renders as text on every page, never as markup.

A copy of the reference gets one more Turtle file: a code (and its bundled service,
relation, indication, workflow step, source, payer, policy and data gap) whose texts hold
a script tag, quotes, a Jinja expression, a closing </svg> and DOT/escString specials.
Every HTML page must show those characters as text: the parsed page has no <script>
element and no extra </svg>, its visible text holds the hostile string exactly, and the
Jinja expression never became 49.
"""

from html.parser import HTMLParser

import pytest

from server import create_app

NOTATION = "0999T"  # test-only notation in a copied reference, never shipped
MARK = "HOSTILE"
HOSTILE = f"""{MARK} <script>alert(1)</script> "double" 'single' {{{{ 7*7 }}}} </svg> & \\N <b>bold</b>"""


def turtle_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


H = turtle_string(HOSTILE)

HOSTILE_TTL = f"""
@prefix cr:     <https://w3id.org/coderef/ontology#> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
@prefix id:     <https://w3id.org/coderef/id/> .

<https://w3id.org/coderef/id/cpt/{NOTATION}> a cr:ProcedureCode ;
    skos:notation "{NOTATION}" ;
    skos:prefLabel {H}@en ;
    skos:altLabel {H}@en ;
    cr:plainDescription {H}@en ;
    cr:serviceType {H}@en ;
    skos:inScheme <https://w3id.org/coderef/id/scheme/cpt-category-iii> ;
    cr:codeSystem <https://w3id.org/coderef/id/scheme/cpt-category-iii> ;
    cr:codeStatus <https://w3id.org/coderef/id/vocab/code-status/active> ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> ;
    cr:bundledService <https://w3id.org/coderef/id/statement/hostile-bundle> ;
    cr:relation <https://w3id.org/coderef/id/statement/hostile-relation> ;
    cr:indication <https://w3id.org/coderef/id/statement/hostile-indication> ;
    cr:scenario <https://w3id.org/coderef/id/statement/hostile-scenario> .

<https://w3id.org/coderef/id/source/hostile> a cr:Source ;
    dct:title {H}@en ;
    dct:publisher {H} ;
    cr:sourceKind <https://w3id.org/coderef/id/vocab/source-kind/secondary> ;
    schema:url "https://example.org/hostile?a=1&b=%22"^^xsd:anyURI .

<https://w3id.org/coderef/id/statement/hostile-bundle> a cr:BundledService ;
    rdfs:label {H}@en ;
    rdfs:comment {H}@en ;
    cr:componentType <https://w3id.org/coderef/id/vocab/component-type/imaging> ;
    cr:reportedAloneBy <https://w3id.org/coderef/id/cpt/77001> ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .

<https://w3id.org/coderef/id/statement/hostile-relation> a cr:CodeRelation ;
    cr:relationType <https://w3id.org/coderef/id/vocab/relation-type/other-approach> ;
    cr:relatedCode <https://w3id.org/coderef/id/cpt/0584T> ;
    rdfs:comment {H}@en ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .

<https://w3id.org/coderef/id/statement/hostile-indication> a cr:Indication ;
    cr:diagnosis <https://w3id.org/coderef/id/icd10cm/E10.649> ;
    cr:indicationRole <https://w3id.org/coderef/id/vocab/indication-role/primary-indication> ;
    cr:clinicalCriteria {H}@en ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .

<https://w3id.org/coderef/id/statement/hostile-scenario> a cr:ClinicalScenario ;
    rdfs:label {H}@en ;
    cr:patientProfile {H}@en ;
    cr:step <https://w3id.org/coderef/id/statement/hostile-step> ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .

<https://w3id.org/coderef/id/statement/hostile-step> a cr:WorkflowStep ;
    cr:stepOrder 1 ;
    rdfs:label {H}@en ;
    dct:description {H}@en .

<https://w3id.org/coderef/id/payer/hostile> a cr:Payer ;
    schema:name {H} ;
    cr:payerSlug "hostile" ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .

<https://w3id.org/coderef/id/policy/hostile/p1> a cr:CoveragePolicy ;
    cr:issuedBy <https://w3id.org/coderef/id/payer/hostile> ;
    cr:policyIdentifier {H} ;
    dct:title {H}@en ;
    cr:effectiveDate "2024-01-01"^^xsd:date ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> ;
    cr:position <https://w3id.org/coderef/id/statement/hostile-position> .

<https://w3id.org/coderef/id/statement/hostile-position> a cr:CoveragePosition ;
    cr:payer <https://w3id.org/coderef/id/payer/hostile> ;
    cr:appliesTo <https://w3id.org/coderef/id/cpt/{NOTATION}> ;
    cr:coverageStatus <https://w3id.org/coderef/id/vocab/coverage-status/investigational> ;
    cr:clinicalContext <https://w3id.org/coderef/id/vocab/clinical-context/any> ;
    cr:clinicalCriteria {H}@en ;
    cr:confidence <https://w3id.org/coderef/id/vocab/confidence/unverified> ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .

<https://w3id.org/coderef/id/statement/hostile-gap> a cr:DataGap ;
    cr:about <https://w3id.org/coderef/id/cpt/{NOTATION}> ;
    cr:missingProperty cr:effectiveDate ;
    rdfs:comment {H}@en ;
    dct:source <https://w3id.org/coderef/id/source/hostile> .
"""


class PageText(HTMLParser):
    """The visible text of a page and the elements that would run or break out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text = []
        self.starts = []
        self.ends = []
        self.handlers = []

    def handle_starttag(self, tag, attrs):
        self.starts.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.ends.append(tag)

    def handle_endtag(self, tag):
        self.ends.append(tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, repo_root):
    import shutil

    root = tmp_path_factory.mktemp("hostile-root")
    for name in ("ontology", "data", "shapes", "queries"):
        src = repo_root / name
        if src.exists():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("modules"))
    (root / "data" / "zz-hostile.ttl").write_text(HOSTILE_TTL, encoding="utf-8")
    return create_app({"ROOT": str(root), "TESTING": True})


def test_the_fixture_is_hostile_turtle_that_loads(hostile_app):
    store = hostile_app.extensions["coderef.graph"].store
    rows = store.select(
        'SELECT ?l WHERE { <https://w3id.org/coderef/id/cpt/0999T> '
        '<http://www.w3.org/2004/02/skos/core#prefLabel> ?l }').rows
    assert rows[0]["l"]["value"] == HOSTILE


def question_pages(app):
    from server.web.extensions import get_catalogue

    with app.app_context():
        questions = get_catalogue().questions.values()
        paths = []
        for question in questions:
            names = [getattr(p, "name", p) for p in question.params or []]
            query = "&".join(f"{n}={NOTATION}" if n == "code" else "" for n in names if n == "code")
            paths.append(f"/questions/{question.id}" + (f"?{query}" if query else ""))
        return paths


PAGES = [
    "/",
    f"/search?q={NOTATION}&all=1",
    "/search?q=HOSTILE",
    f"/codes/{NOTATION}",
    "/codes/E10.649",  # the diagnosis page lists the hostile code among the procedures it supports
    "/coverage",
    "/validate",
    f"/id/cpt/{NOTATION}",
    "/id/source/hostile",
    "/id/payer/hostile",
    "/id/policy/hostile/p1",
]

# Pages where the hostile text must appear (the others only must not run it).
SHOWS_IT = {f"/search?q={NOTATION}&all=1", "/search?q=HOSTILE", f"/codes/{NOTATION}", "/codes/E10.649", "/coverage",
            f"/id/cpt/{NOTATION}", "/id/source/hostile", "/id/payer/hostile", "/id/policy/hostile/p1"}


def check_page(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    parsed = PageText()
    parsed.feed(html)
    text = "".join(parsed.text)
    # As markup, nothing from the data: no script element, no event handler, no bold, and
    # every <svg> closed by its own </svg> only.
    assert "script" not in parsed.starts, path
    assert "b" not in parsed.starts, path
    assert not parsed.handlers, (path, parsed.handlers)
    assert parsed.starts.count("svg") == parsed.ends.count("svg"), path
    assert "<script>alert(1)</script>" not in html, path
    assert "</svg> &" not in html, path
    # As text, everything, and the Jinja expression never evaluated.
    assert f"{MARK} 49" not in text and "{{ 7*7 }} 49" not in text, path
    return text, html


@pytest.mark.parametrize("path", PAGES)
def test_page_shows_hostile_text_as_text(hostile_app, path):
    text, _ = check_page(hostile_app.test_client(), path)
    if path in SHOWS_IT:
        assert HOSTILE in text, f"{path} does not show the hostile literal as text"


def test_code_page_diagram_shows_hostile_labels_as_svg_text(hostile_app):
    text, html = check_page(hostile_app.test_client(), f"/codes/{NOTATION}")
    assert "<svg" in html, "the code page has no diagram"
    svg = html[html.index("<svg"): html.index("</svg>", html.index("<svg")) + len("</svg>")]
    parsed = PageText()
    parsed.feed(svg)
    svg_text = " ".join("".join(parsed.text).split())
    # The diagram wraps long labels; the pieces are there as text, escaped by Graphviz.
    for piece in ("<script>alert(1)</script>", "{{ 7*7 }}", "</svg>", "\\N"):
        assert piece in svg_text, (piece, svg_text[:400])


def test_question_pages_show_hostile_text_as_text(hostile_app):
    client = hostile_app.test_client()
    shown = 0
    for path in question_pages(hostile_app):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code in (200, 400, 404), (path, response.status_code)
        html = response.get_data(as_text=True)
        parsed = PageText()
        parsed.feed(html)
        assert "script" not in parsed.starts and "b" not in parsed.starts, path
        assert not parsed.handlers, path
        assert "<script>alert(1)</script>" not in html, path
        text = "".join(parsed.text)
        assert f"{MARK} 49" not in text, path
        shown += HOSTILE in text
    assert shown, "no question page showed the hostile code's texts"


def test_hostile_source_address_is_an_attribute_value_not_markup(hostile_app):
    _, html = check_page(hostile_app.test_client(), f"/codes/{NOTATION}")
    assert 'href="https://example.org/hostile?a=1&amp;b=%22"' in html
