"""The full ICD-10-CM module: `coderef build-icd10cm` writes every code of the official set
as SKOS; loaded whenever present, it makes codes_for_indication follow the hierarchy.

Built once per session into a copy of the reference (about 10 s and 1M triples)."""

import random
import re
import shutil

import pyoxigraph as ox
import pytest
import rdflib
import simple_icd_10_cm as icd
from rdflib.collection import Collection
from rdflib.namespace import SH

from server import create_app
from server.cli import main as coderef
from server.icd10cm import all_codes, with_ancestors
from server.icd10cm_build import build
from server.namespaces import sparql_prefixes
from server.rdf.terms import Literal

P = sparql_prefixes()
ICD = "https://w3id.org/coderef/id/icd10cm/"


@pytest.fixture(scope="session")
def module_root(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("icd10cm-root")
    for name in ("ontology", "data", "shapes", "queries"):
        shutil.copytree(repo_root / name, root / name, ignore=shutil.ignore_patterns("modules"))
    assert coderef(["build-icd10cm", "--root", str(root)]) == 0
    return root


@pytest.fixture(scope="session")
def module_app(module_root):
    return create_app({"ROOT": str(module_root), "TESTING": True})


@pytest.fixture(scope="session")
def module_store(module_app):
    return module_app.extensions["coderef.graph"].store


@pytest.fixture(scope="session")
def module_alone(module_root):
    """The module file by itself, without the rest of the reference."""
    store = ox.Store()
    store.bulk_load(path=str(module_root / "data" / "modules" / "icd10cm.ttl"), format=ox.RdfFormat.TURTLE)
    return store


@pytest.fixture(scope="session")
def official_codes():
    return all_codes()


def one(store, query, **bindings):
    rows = store.select(P + query, bindings=bindings).rows
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def test_the_module_is_written_where_the_loader_finds_it(module_root):
    module = module_root / "data" / "modules" / "icd10cm.ttl"
    assert module.is_file() and module.stat().st_size > 10_000_000
    assert not [p for p in module.parent.iterdir() if p.name.endswith(".tmp")], "a temporary file was left behind"


def test_every_code_of_the_official_set_is_a_concept(module_store, official_codes):
    assert len(official_codes) > 95_000
    rows = one(module_store, """
        SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a cr:DiagnosisCode ; skos:inScheme <https://w3id.org/coderef/id/scheme/icd10cm> }""")
    assert int(rows[0]["n"]) == len(official_codes)


@pytest.mark.parametrize("code, parents", [
    ("E10.649", ["E10.64", "E10.6", "E10"]),
    ("E10.641", ["E10.64", "E10.6", "E10"]),
    ("S72.001A", ["S72.001", "S72.00", "S72.0", "S72"]),
    ("A00.0", ["A00"]),
], ids=str)
def test_hierarchy_follows_the_code_set(module_store, code, parents):
    rows = one(module_store, """
        SELECT ?n WHERE { ?c skos:notation ?code ; skos:broader+ ?a . ?a skos:notation ?n }""",
        code=Literal(code))
    assert sorted(r["n"] for r in rows) == sorted(parents)


@pytest.mark.parametrize("code", ["E10", "E10.9", "S72.00"])
def test_a_code_page_lists_the_codes_above_and_right_below(module_store, code):
    """Over the whole code set: the code's own row (billable) once, not joined to every
    notation and label of the graph (the labels are looked up inside the branches)."""
    from server.codes import describe_code

    page = describe_code(module_store, code)
    assert [c["notation"] for c in page["broader"]] == ([icd.get_parent(code)] if icd.get_parent(code) and "-" not in icd.get_parent(code) else [])
    assert sorted(c["notation"] for c in page["narrower"]) == sorted(icd.get_children(code))
    assert all(c["label"] for c in page["broader"] + page["narrower"])
    assert page["billable"] is icd.is_leaf(code)


def test_top_categories_have_no_broader_code(module_store):
    rows = one(module_store, f"SELECT ?b WHERE {{ <{ICD}E10> skos:broader ?b }}")
    assert rows == []


SELF_BROADER = "SELECT ?c WHERE { ?c <http://www.w3.org/2004/02/skos/core#broader> ?c }"


def test_no_code_is_broader_than_itself(module_alone):
    """B10, C7A, E89, ... are categories named like their block; the package calls them their own parent."""
    assert list(module_alone.query(SELF_BROADER)) == []


def test_the_shipped_subset_has_no_code_broader_than_itself(repo_root):
    subset = ox.Store()
    subset.bulk_load(path=str(repo_root / "data" / "icd10cm-indications.ttl"), format=ox.RdfFormat.TURTLE)
    assert list(subset.query(SELF_BROADER)) == []


def test_billable_flags_and_titles_come_from_the_package(module_store, official_codes):
    sample = random.Random(4).sample(official_codes, 300) + ["E10.64", "E10.649", "E10"]
    values = " ".join(f"<{ICD}{c}>" for c in sample)
    rows = one(module_store, f"""
        SELECT ?n ?label ?billable WHERE {{ VALUES ?c {{ {values} }}
          ?c skos:notation ?n ; skos:prefLabel ?label ; cr:billable ?billable }}""")
    assert len(rows) == len(set(sample))
    for row in rows:
        code = row["n"]
        assert row["label"] == icd.get_description(code), code
        assert (row["billable"] == "true") == icd.is_leaf(code), code
    flags = {r["n"]: r["billable"] for r in rows}
    assert flags["E10.64"] == "false" and flags["E10.649"] == "true"


def test_concepts_carry_the_release_date_through_their_scheme(module_store):
    rows = one(module_store, f"""
        SELECT ?date WHERE {{ <{ICD}A00.0> skos:inScheme ?s . ?s cr:releaseDate ?date }}""")
    assert [r["date"] for r in rows] == ["2026-04-01"]


def readme_codes(repo_root) -> list[str]:
    """The codes of the command README's data rules give for the shipped subset."""
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    command = re.search(r"coderef build-icd10cm --out data/icd10cm-indications\.ttl --codes ([A-Z0-9. ]+)`", text)
    assert command, "README's data rules lost the command that writes data/icd10cm-indications.ttl"
    return command.group(1).split()


def test_the_shipped_subset_is_the_module_restricted(module_alone, repo_root, tmp_path):
    """data/icd10cm-indications.ttl and the module say the same about the same codes (and
    notes, ranges), so loading both only dedupes; and the subset is README's command's
    output, not hand-edited."""
    subset = set(ox.parse(path=str(repo_root / "data" / "icd10cm-indications.ttl")))
    assert subset and all(q in module_alone for q in subset)
    regenerated = tmp_path / "subset.ttl"
    build(regenerated, readme_codes(repo_root))
    assert set(ox.parse(path=str(regenerated))) == subset


def test_loading_both_keeps_one_copy_of_each_statement(module_store):
    rows = one(module_store, f"SELECT ?l WHERE {{ <{ICD}E10.649> skos:prefLabel ?l }}")
    assert len(rows) == 1


def test_codes_for_indication_follows_the_hierarchy_down(module_app):
    """E10.64 is not an indication itself: its children E10.649 / E10.641 are."""
    answer = module_app.test_client().get("/api/questions/codes_for_indication?icd=E10.64").get_json()
    assert answer["ok"], answer
    via = {r["diagnosisNotation"] for r in answer["rows"] if r["notation"] == "0584T"}
    assert via and via <= {"E10.649", "E10.641"}


def test_codes_for_indication_takes_any_code_of_the_set_with_the_module(module_app):
    answer = module_app.test_client().get("/api/questions/codes_for_indication?icd=A00.0").get_json()
    assert answer["ok"] and answer["rows"] == []


def test_without_the_module_a_code_outside_the_reference_is_unknown(root_copy):
    response = create_app({"ROOT": str(root_copy), "TESTING": True}).test_client().get("/api/questions/codes_for_indication?icd=A00.0")
    assert response.status_code == 404
    assert response.get_json()["ok"] is False


def _notation_pattern(repo_root) -> str:
    shapes = rdflib.Graph().parse(repo_root / "shapes" / "core.shapes.ttl", format="turtle")
    shape = rdflib.URIRef("https://w3id.org/coderef/shapes#Icd10cmNotationShape")
    patterns = [str(p) for member in Collection(shapes, shapes.value(shape, SH["or"]))
                for p in shapes.objects(member, SH.pattern)]
    assert len(patterns) == 1, patterns
    return patterns[0]


def test_every_official_notation_has_the_form_icd10cm_notation_shape_requires(repo_root, official_codes):
    """The shape's pattern once left out U (U07.1 COVID-19, U09.9) and a letter second
    (QA0.0101): 25 codes of the set, so a server refused the whole module. Each notation
    build() writes, through the pattern as the validator applies it (SPARQL REGEX)."""
    store = ox.Store()
    notation = ox.NamedNode("http://www.w3.org/2004/02/skos/core#notation")
    store.extend(ox.Quad(ox.NamedNode(ICD + code), notation, ox.Literal(code)) for code in official_codes)
    pattern = ox.Literal(_notation_pattern(repo_root))
    rejected = [row["n"].value for row in store.query(
        f"SELECT ?n WHERE {{ ?c <{notation.value}> ?n FILTER (!REGEX(?n, {pattern})) }}")]
    assert rejected == []
    assert len(store) == len(official_codes) > 95_000


def test_the_api_takes_every_notation_the_shape_takes(repo_root, root_copy):
    """The `icd`/`code` parameters check a notation's form with the shape's pattern: with the
    narrower one, QA0.0101 (a code of the set) was a malformed-parameter 400, not a look-up."""
    from server.questions import CODE_PATTERNS

    assert CODE_PATTERNS["icd10cm"].pattern == _notation_pattern(repo_root)
    client = create_app({"ROOT": str(root_copy), "TESTING": True}).test_client()
    for code, status in (("QA0.0101", 404), ("U07.1", 404), ("QA0.01010", 400), ("1A0.0", 400)):
        response = client.get(f"/api/questions/codes_for_indication?icd={code}")
        assert response.status_code == status, (code, response.get_json())


def test_build_of_given_codes_writes_what_it_always_wrote(repo_root, tmp_path):
    """`build-icd10cm --codes`, however the codes are spelled, writes the committed subset
    byte for byte."""
    shipped = repo_root / "data" / "icd10cm-indications.ttl"
    notations = readme_codes(repo_root)
    spelled = [n.replace(".", "") if i % 3 == 0 else n.lower() if i % 3 == 1 else n for i, n in enumerate(notations)]
    out = tmp_path / "subset.ttl"
    assert coderef(["build-icd10cm", "--out", str(out), "--codes", ", ".join(spelled[:5]), *spelled[5:]]) == 0
    assert out.read_bytes() == shipped.read_bytes()


def test_given_codes_are_looked_up_without_scanning_the_set(official_codes, monkeypatch):
    """`build-icd10cm --codes` with the whole set took over ten minutes: each code's dotted
    form was found by simple_icd_10_cm.add_dot, which scans the list of all codes (time
    growing with the square of the codes). The look-up is now a table built once: the whole
    set, written without dots, comes back dotted without one call to add_dot (no timing)."""
    from server import icd10cm

    def scan(code):
        raise AssertionError(f"add_dot({code!r}) scans the code set")

    monkeypatch.setattr(icd10cm.icd, "add_dot", scan)
    dotless = [code.replace(".", "") for code in official_codes]
    assert with_ancestors(dotless) == sorted(official_codes)


# ------------------------------------------------------------------ notes (issue 17)

KIND = "https://w3id.org/coderef/id/vocab/icd-note-kind/"
LISTED = {"excludes1": icd.get_excludes1, "excludes2": icd.get_excludes2,
          "includes": icd.get_includes, "inclusion-term": icd.get_inclusion_term}
TEXT = {"code-first": icd.get_code_first, "use-additional-code": icd.get_use_additional_code,
        "code-also": icd.get_code_also, "note": icd.get_notes}


def package_counts() -> dict:
    """Notes per kind as the package holds them, read straight from its functions: a list
    item is a note, a text field one note; every item of the set (chapters, blocks, codes,
    and the blocks named like their category through prioritize_blocks)."""
    counts = dict.fromkeys([*LISTED, *TEXT, "seventh-character"], 0)
    for name in dict.fromkeys(icd.get_all_codes()):
        readings = [False, True] if icd.is_block(name) and icd.is_category(name) else [False]
        for blocks in readings:
            for kind, read in LISTED.items():
                counts[kind] += len([t for t in read(name, prioritize_blocks=blocks) if t.strip()])
            for kind, read in TEXT.items():
                counts[kind] += bool(read(name, prioritize_blocks=blocks).strip())
            counts["seventh-character"] += bool(icd.get_seven_chr_def(name, prioritize_blocks=blocks)
                                                or icd.get_seven_chr_note(name, prioritize_blocks=blocks))
    return counts


def test_notes_per_kind_match_the_package(module_alone):
    rows = module_alone.query(f"""SELECT ?kind (COUNT(?n) AS ?count) WHERE {{
        ?n a <https://w3id.org/coderef/ontology#CodingNote> ; <https://w3id.org/coderef/ontology#noteKind> ?kind }}
        GROUP BY ?kind""")
    built = {r["kind"].value.removeprefix(KIND): int(r["count"].value) for r in rows}
    expected = package_counts()
    assert built == expected
    assert expected["excludes1"] > 5000 and expected["inclusion-term"] > 12000


CR = "https://w3id.org/coderef/ontology#"


def test_every_resolved_target_exists(module_alone):
    """Targets and range members are described concepts or ranges, and there are many."""
    dangling = list(module_alone.query(f"""SELECT ?note ?t WHERE {{
        ?note <{CR}noteTarget>|<{CR}rangeMember>|<{CR}rangeStart>|<{CR}rangeEnd>|<{CR}inRange> ?t .
        FILTER NOT EXISTS {{ ?t a <{CR}DiagnosisCode> }} FILTER NOT EXISTS {{ ?t a <{CR}CodeRange> }} }}"""))
    assert dangling == []
    [count] = module_alone.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?note <{CR}noteTarget> ?t }}")
    assert int(count["n"].value) > 10_000


def test_unresolved_targets_name_nothing_of_the_set_and_are_kept(module_alone):
    rows = [(r["note"].value, r["t"].value) for r in module_alone.query(
        f"SELECT ?note ?t WHERE {{ ?note <{CR}unresolvedTarget> ?t }}")]
    assert rows, "the set has a few (K00-K93, R10.1-R10.4-, G31.90, ...)"
    for note, text in rows:
        ends = [e.rstrip(".-") for e in re.split(r"\s*-\s*(?=[A-Z])", text)]
        assert not all(icd.is_valid_item(e) and icd.is_category_or_subcategory(e) for e in ends), (note, text)
    assert any(t == "K00-K93" for _, t in rows)  # K93 is not a category of the 2026 set


def notes_of(module_app, code) -> list[dict]:
    answer = module_app.test_client().get(f"/api/questions/icd_notes?icd={code}").get_json()
    assert answer["ok"], answer
    return answer["rows"]


def kinds_from(rows, holder) -> dict:
    out = {}
    for r in rows:
        if r["holderNotation"] == holder:
            out.setdefault(r["kind"].removeprefix(KIND), set()).add(r["text"])
    return out


def test_e10_9_inherits_the_notes_of_e10_and_its_chapter(module_app):
    """get_excludes1("E10.9") is empty; the conventions apply E10's notes to it."""
    assert icd.get_excludes1("E10.9") == []
    rows = notes_of(module_app, "E10.9")
    e10 = kinds_from(rows, "E10")
    assert e10["excludes1"] == set(icd.get_excludes1("E10")) and len(e10["excludes1"]) == 9
    assert e10["includes"] == set(icd.get_includes("E10"))
    assert set(kinds_from(rows, "4")) == {"excludes1", "note"}  # chapter 4
    assert all(r["inherited"] == "true" for r in rows)
    targets = {r["targetNotation"] for r in rows if "type 2 diabetes" in r["text"]}
    assert targets == {"E11"}


def test_e10_649_inherits_use_additional_code_from_e10_64(module_app):
    rows = notes_of(module_app, "E10.649")
    [note] = [r for r in rows if r["kind"] == KIND + "use-additional-code"]
    assert note["holderNotation"] == "E10.64" and note["targetNotation"] == "E16.A"
    assert note["text"] == icd.get_use_additional_code("E10.64")
    assert kinds_from(rows, "E10")["excludes1"] == set(icd.get_excludes1("E10"))


def test_z94_83_inherits_from_its_category_block_and_chapter(module_app):
    rows = notes_of(module_app, "Z94.83")
    assert {r["targetNotation"] for r in rows if r["kind"] == KIND + "excludes2"} == {"Z95"}
    assert kinds_from(rows, "Z77-Z99")["code-also"] == {icd.get_code_also("Z77-Z99", prioritize_blocks=True)}
    assert "note" in kinds_from(rows, "21")
    assert not [r for r in rows if r["kind"] == KIND + "inclusion-term"]


def test_a_seventh_character_code_inherits_its_characters_but_not_inclusion_terms(module_app):
    rows = notes_of(module_app, "S72.001A")
    seventh = [r for r in rows if r["kind"] == KIND + "seventh-character"]
    assert {r["holderNotation"] for r in seventh} == {"S72"}
    assert {r["character"]: r["characterMeaning"] for r in seventh}["A"] == "initial encounter for closed fracture"
    assert len({r["character"] for r in seventh if r.get("character")}) == len(icd.get_seven_chr_def("S72")) == 16
    assert icd.get_inclusion_term("S72.00"), "S72.00 has inclusion terms ..."
    assert not [r for r in rows if r["kind"] == KIND + "inclusion-term"], "... which name what S72.00 itself is for"
    assert kinds_from(rows, "S72")["excludes1"] == set(icd.get_excludes1("S72"))


def _pairs(answer) -> set:
    assert answer["ok"], answer
    return {(r["codeNotation"], r["otherNotation"], r["kind"].removeprefix(KIND), r["targetNotation"]) for r in answer["rows"]}


def test_excludes_pairs_finds_ranges_and_wildcards(client):
    """On the shipped data (the indication subset and what its notes name), on every backend."""
    pairs = _pairs(client.get("/api/questions/excludes_pairs?codes=E10.9,E13 P70.2 Z94.83 Z95").get_json())
    assert ("E10.9", "E13", "excludes1", "E13") in pairs  # E13.-
    assert ("E10.9", "P70.2", "excludes1", "P70-P74") in pairs  # chapter 4's range, a block
    assert ("Z94.83", "Z95", "excludes2", "Z95") in pairs
    assert not [p for p in pairs if p[0] == "Z94.83" and p[2] == "excludes1"]


def test_excludes_pairs_over_the_whole_code_set(module_app):
    """Every ordered pair of eight codes, with the notes written on categories, a range
    (E08-E13) and a wildcard (O24.4-); each target is what the official text names."""
    codes = "E10.9 E11.9 R73.9 O24.419 Z94.83 Z95.1 E10.649 E16.2"
    pairs = _pairs(module_app.test_client().get("/api/questions/excludes_pairs", query_string={"codes": codes}).get_json())
    assert {p for p in pairs if p[0] == "E10.9"} == {("E10.9", "E11.9", "excludes1", "E11"),
                                                     ("E10.9", "O24.419", "excludes1", "O24.4"),
                                                     ("E10.9", "R73.9", "excludes1", "R73.9")}
    assert ("R73.9", "E10.649", "excludes1", "E08-E13") in pairs  # R73's "diabetes mellitus (E08-E13)"
    assert ("E16.2", "E10.649", "excludes1", "E10.649") in pairs
    assert ("Z94.83", "Z95.1", "excludes2", "Z95") in pairs
    # The official texts the pairs come from.
    assert "type 2 diabetes mellitus (E11.-)" in icd.get_excludes1("E10")
    assert "hyperglycemia NOS (R73.9)" in icd.get_excludes1("E10")
    assert "diabetes mellitus (E08-E13)" in icd.get_excludes1("R73")
    assert not [p for p in pairs if {p[0], p[1]} == {"E10.9", "E10.649"}], "a code and its sibling are not excluded"


def test_excludes_pairs_names_the_code_it_cannot_take(client):
    unknown = client.get("/api/questions/excludes_pairs?codes=E10.9 X99.99")
    assert unknown.status_code == 404 and "X99.99" in unknown.get_json()["error"] and "'codes'" in unknown.get_json()["error"]
    procedure = client.get("/api/questions/excludes_pairs?codes=E10.9,0584T")
    assert procedure.status_code == 400 and "0584T" in procedure.get_json()["error"]
    many = client.get("/api/questions/excludes_pairs", query_string={"codes": " ".join(["E10.9"] * 51)})
    assert many.status_code == 400 and "at most 50" in many.get_json()["error"]
    empty = client.get("/api/questions/excludes_pairs", query_string={"codes": " , ;"})
    assert empty.status_code == 400 and "names no ICD-10-CM code" in empty.get_json()["error"]
    alone = client.get("/api/questions/excludes_pairs?codes=E10.9 e10.9").get_json()
    assert alone["ok"] and alone["rows"] == [], "one code (written twice) makes no pair"
