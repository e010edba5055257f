"""Cross-payer consistency (issue 5, item 2): questions for what policy teams look for, and
the /consistency page that counts them per payer. Over both stores unless marked.

Facts from the fact sheet (/work/shared/reference/factsheet.txt) and data/: Triple-S has two
policies naming the islet codes (07.003.011 and the Lantidra drug policy P1.002.018);
Cigna's MM 0107 rests on PayerPolicy and Verity summaries (secondary sources); Medicare's
NCD covers the G-codes and 0584T-0586T but states nothing on 48160 or S2102, which Cigna's
policy lists; Cigna's positions take effect 2025-09-26.
"""

import re
from html import unescape

import pytest

from support.answers import column, run
from server import create_app

ID = "https://w3id.org/coderef/id/"


# ------------------------------------------------------------------ the questions

def test_family_is_consistent_in_the_shipped_data(app):
    # Every payer's positions name 0584T, 0585T and 0586T together.
    assert run(app, "family_inconsistencies") == []
    assert run(app, "family_inconsistencies", payer="aetna", as_of="2026-01-01") == []


def test_overlapping_policies(app):
    rows = run(app, "overlapping_policies", as_of="2026-01-01")
    assert column(rows, "payer") == {ID + "payer/triple-s"}
    assert column(rows, "notation") == {"0584T", "0585T", "0586T"}
    assert {(r["policyIdentifier"], r["otherPolicyIdentifier"]) for r in rows} == {("07.003.011", "P1.002.018")}
    assert all(r["source"] and r["otherSource"] for r in rows)
    assert run(app, "overlapping_policies", payer="cigna", as_of="2026-01-01") == []


def test_secondary_only_positions(app):
    rows = run(app, "secondary_only_positions")
    # secondary sites, copies on third-party sites (Premera) and our own notes (UnitedHealthcare's
    # search) all leave a position unconfirmed; primary and institutional sources never appear
    kinds = {k.rsplit("/", 1)[-1] for k in column(rows, "sourceKind")}
    assert kinds == {"secondary", "third-party-copy", "own"}, kinds
    assert ID + "statement/uhc-no-islet-policy" in column(rows, "position")
    assert ID + "statement/cigna-0107-allogeneic" in column(rows, "position")
    assert ID + "payer/medicare" not in column(rows, "payer")  # CMS and its contractor are primary
    cigna = run(app, "secondary_only_positions", payer="cigna")
    assert column(cigna, "source") == {ID + "source/payerpolicy-cigna-0107", ID + "source/verity-cigna-0107"}
    assert all(r["sourceUrl"] for r in cigna)
    assert run(app, "secondary_only_positions", payer="cigna", as_of="2021-01-01") == []


def test_payer_gaps(app):
    medicare = run(app, "payer_gaps", payer="medicare")
    assert column(medicare, "notation") == {"48160", "S2102"}
    assert ID + "payer/cigna" in column(medicare, "otherPayer")
    assert all(r["source"] for r in medicare)
    assert column(run(app, "payer_gaps", payer="cigna", as_of="2026-01-01"), "notation") == {"G0341", "G0342", "G0343"}
    # Before Cigna's positions took effect it said nothing on the islet codes.
    assert {"0584T", "0585T", "0586T"} <= column(run(app, "payer_gaps", payer="cigna", as_of="2021-01-01"), "notation")


def test_payer_gaps_needs_a_payer(client):
    response = client.get("/api/questions/payer_gaps")
    assert response.status_code == 400 and "'payer'" in response.get_json()["error"]
    assert client.get("/api/questions/payer_gaps?payer=nobody").status_code == 404


@pytest.fixture
def aetna_silent_on_0585T(root_copy):
    """The shipped data with 0585T taken out of both Aetna positions."""
    path = root_copy / "data" / "policies-commercial.ttl"
    text = path.read_text(encoding="utf-8")
    start = text.index("stmt:aetna-0601-islet a")
    end = text.index("<https://w3id.org/coderef/id/policy/aetna/cpb-0587>")
    section = text[start:end].replace("cpt:0584T , cpt:0585T , cpt:0586T", "cpt:0584T , cpt:0586T")
    assert section.count("cpt:0584T , cpt:0586T") == 2
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    return create_app({"TESTING": True, "ROOT": str(root_copy)})


@pytest.mark.embedded_only
def test_family_silence_is_found(aetna_silent_on_0585T, backend):
    rows = run(aetna_silent_on_0585T, "family_inconsistencies")
    assert column(rows, "payer") == {ID + "payer/aetna"}
    assert column(rows, "kind") == {"no position on a code of the same family"}
    assert {(r["notation"], r["familyNotation"]) for r in rows} == {("0584T", "0585T"), ("0586T", "0585T")}
    assert column(rows, "source") == {ID + "source/aetna-cpb-0601"}
    assert run(aetna_silent_on_0585T, "family_inconsistencies", payer="cigna") == []


# Two positions of Cigna's 2025 policy, one narrowed to 0584T and a second one on 0585T in
# the same (allogeneic) context with another status: a fixture to break the rule, not a fact.
FAMILY_STATUS_GRAPH = """
@prefix cr:  <https://w3id.org/coderef/ontology#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix id:  <https://w3id.org/coderef/id/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
id:cpt\\/0584T skos:notation "0584T" ; cr:relation id:statement\\/r1 .
id:statement\\/r1 cr:relationType id:vocab\\/relation-type\\/other-approach ; cr:relatedCode id:cpt\\/0585T .
id:cpt\\/0585T skos:notation "0585T" .
id:statement\\/fixture-a a cr:CoveragePosition ; cr:payer id:payer\\/cigna ; cr:appliesTo id:cpt\\/0584T ;
    cr:coverageStatus id:vocab\\/coverage-status\\/investigational ; cr:clinicalContext id:vocab\\/clinical-context\\/allogeneic ;
    cr:effectiveDate "2025-09-26"^^xsd:date ; dct:source id:source\\/factsheet .
id:statement\\/fixture-b a cr:CoveragePosition ; cr:payer id:payer\\/cigna ; cr:appliesTo id:cpt\\/0585T ;
    cr:coverageStatus id:vocab\\/coverage-status\\/covered-with-criteria ; cr:clinicalContext id:vocab\\/clinical-context\\/allogeneic ;
    cr:effectiveDate "2025-09"^^xsd:gYearMonth ; dct:source id:source\\/factsheet .
"""


@pytest.mark.embedded_only
@pytest.mark.parametrize("as_of, found", [(None, True), ("2025-09-26", True), ("2025-08-31", False)])
def test_family_status_conflict_is_found(repo_root, as_of, found):
    import pyoxigraph as ox

    from server.questions import load_catalogue
    from server.store.embedded import EmbeddedStore

    graph = ox.Store()
    graph.load(FAMILY_STATUS_GRAPH.encode(), ox.RdfFormat.TURTLE)
    params = {"as_of": as_of} if as_of else {}
    rows = load_catalogue(repo_root / "queries").run(EmbeddedStore(graph), "family_inconsistencies", params).records()
    if not found:
        assert rows == []
        return
    assert {(r["kind"], r["notation"], r["familyNotation"]) for r in rows} == {
        ("different status on a code of the same family", "0584T", "0585T")}
    assert rows[0]["otherPosition"] == ID + "statement/fixture-b" and rows[0]["otherSource"]


# ------------------------------------------------------------------ the page

def cells(html: str) -> dict:
    """Payer name -> [cell text] from the consistency table."""
    table = html[html.index("<tbody>"):html.index("</tbody>")]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        texts = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        found[texts[0]] = texts[1:]
    return found


def test_consistency_page(app, client):
    response = client.get("/consistency?as_of=2026-01-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = cells(html)
    headings = ["At odds with the code family", "Two policies on one code", "Positions on secondary sources only",
                "Codes with no position", "Conflicting positions", "Policies due for a check"]
    assert all(h in html for h in headings)
    assert table["Triple-S Salud"][1] == "3"
    assert table["Cigna Healthcare"][1] == "0"
    # The gap count equals the payer_gaps question's answer for the same day.
    assert table["Cigna Healthcare"][3] == str(len(column(run(app, "payer_gaps", payer="cigna", as_of="2026-01-01"), "code")))
    assert table["Medicare"][3] == "2"
    link = '/questions/overlapping_policies?payer=triple-s&amp;as_of=2026-01-01'
    assert link in html
    followed = client.get(unescape(link))
    assert followed.status_code == 200 and "P1.002.018" in followed.get_data(as_text=True)
    # Names from the data are escaped.
    assert "Blue Cross &amp; Blue Shield of Rhode Island" in html


def test_consistency_page_follows_the_day(client):
    before = cells(client.get("/consistency?as_of=2021-01-01").get_data(as_text=True))
    assert before["Cigna Healthcare"][2] == "0"  # no Cigna position in force yet
    assert int(before["Cigna Healthcare"][3]) >= 5
    # Page and question agree on the gaps for every payer, on another day too.
    app = client.application
    for slug, name in (("cigna", "Cigna Healthcare"), ("medicare", "Medicare"), ("bcbs-mn", "Blue Cross and Blue Shield of Minnesota")):
        assert before[name][3] == str(len(column(run(app, "payer_gaps", payer=slug, as_of="2021-01-01"), "code")))


def test_consistency_page_bad_day(client):
    response = client.get("/consistency?as_of=2026-02-30")
    assert response.status_code == 400 and "as_of" in unescape(response.get_data(as_text=True))
    assert client.get("/consistency?as_of=x", headers={"Accept": "application/json"}).get_json()["status"] == 400


@pytest.mark.embedded_only
def test_consistency_page_escapes_names(root_copy, backend):
    path = root_copy / "data" / "payers.ttl"
    path.write_text(path.read_text(encoding="utf-8").replace('schema:name "Aetna"', 'schema:name "<script>alert(1)</script>Aetna"'),
                    encoding="utf-8")
    html = create_app({"TESTING": True, "ROOT": str(root_copy)}).test_client().get("/consistency").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;Aetna" in html
