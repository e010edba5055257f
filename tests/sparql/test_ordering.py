"""The embedded store applies a question's final ORDER BY in Python (server/sparql/ordering.py):
the rows must come in Oxigraph's order, key for key, and be the same rows. Rows whose keys
tie may be ordered differently: SPARQL leaves that open."""

import random

import pyoxigraph as ox
import pytest

from server.sparql import ordering
from server.questions import load_catalogue
from server.graph.open import open_store
from server.store.embedded import EmbeddedStore
from server.store.oxigraph import _result

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
CATALOGUE_PARAMS = {"code": "0584T", "icd": "E10.649", "codes": "E10.9 E13 R73.9", "payer": "medicare", "as_of": "2025-01-01",
                    "modifier": "KX", "place": "21"}


@pytest.mark.parametrize("query, expected", [
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a", (("a", False),)),
    ("SELECT * WHERE { ?a ?p ?o } order by desc(?a) ASC(?o) ?p", (("a", True), ("o", False), ("p", False))),
    ("SELECT ?a WHERE { { SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?o LIMIT 1 } } ORDER BY $a", (("a", False),)),
    ("SELECT ?a WHERE { ?a ?p ?o } # ORDER BY ?x\n", None),
    ("SELECT ?a WHERE { ?a ?p \"} ORDER BY ?o\" }", None),
    ("SELECT ?a WHERE { { SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?o } }", None),
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a LIMIT 3", None),
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a OFFSET 1", None),
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY STR(?a)", None),
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY DESC(?a + 1)", None),
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY (?a)", None),
    ("SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a VALUES ?a { <x:y> }", None),
])
def test_split_takes_only_a_final_order_by_of_variables(query, expected):
    split = ordering.split(query)
    if expected is None:
        assert split is None
    else:
        assert split[1] == expected
        assert "ORDER" not in split[0].upper().rsplit("}", 1)[1]
        assert split[0] == query[: len(split[0])]


# ------------------------------------------------------------------ against Oxigraph's sort

def _kinds(rng):
    """Value makers: those whose order ordering.py reproduces, and those it leaves to the engine."""
    texts = ["a", "B", "b", "é", "z", "Z9", "a b", "\uff01", "\U0001F600", "aa", "", "10", "9", "ä"]
    safe = {
        "iri": lambda: ox.NamedNode(EX + rng.choice(texts).replace(" ", "_") + rng.choice(["", "x", "/1"])),
        "string": lambda: ox.Literal(rng.choice(texts) + rng.choice(["", "1", "\u00e9"])),
        "integer": lambda: ox.Literal(rng.choice(["-3", "0", "7", "+7", "12", "007", "100"]), datatype=ox.NamedNode(XSD + "integer")),
    }
    unsafe = {
        "bnode": lambda: ox.BlankNode(),
        "date": lambda: ox.Literal(rng.choice(["2024-01-02", "2023-12-31Z", "2024-01-02+05:00"]), datatype=ox.NamedNode(XSD + "date")),
        "decimal": lambda: ox.Literal(rng.choice(["1.5", "2", "-0.5"]), datatype=ox.NamedNode(XSD + "decimal")),
    }
    return safe, unsafe


def _graph(rng, column_kinds: list[list[str]], rows: int):
    """A store with `rows` subjects, each with one value (or none) per column, drawn from
    that column's kinds; a string column mixes plain and English-tagged text, each text
    tagged one way only (unless the column also asks for "same-text")."""
    safe, unsafe = _kinds(rng)
    makers = {**safe, **unsafe}
    store = ox.Store()
    tag_of = {}
    for r in range(rows):
        subject = ox.NamedNode(f"{EX}s{r}")
        store.add(ox.Quad(subject, ox.NamedNode(EX + "row"), ox.Literal(str(r))))
        for c, kinds in enumerate(column_kinds):
            if rng.random() < 0.15:
                continue  # unbound
            kind = rng.choice([k for k in kinds if k != "same-text"])
            value = makers[kind]()
            if kind == "string":
                tagged = tag_of.setdefault(value.value, rng.random() < 0.5)
                if "same-text" in kinds and rng.random() < 0.3:
                    tagged = not tagged
                if tagged:
                    value = ox.Literal(value.value, language="en")
            store.add(ox.Quad(subject, ox.NamedNode(f"{EX}c{c}"), value))
    return store


def _query(columns: int, keys) -> str:
    optionals = " ".join(f"OPTIONAL {{ ?s <{EX}c{c}> ?c{c} }}" for c in range(columns))
    order = " ".join(f"DESC(?c{c})" if desc else f"?c{c}" for c, desc in keys)
    return f"SELECT ?s ?c0 ?c1 ?c2 WHERE {{ ?s <{EX}row> ?r {optionals} }} ORDER BY {order}"


def _key_columns(rows, keys):
    return [tuple(None if row[c] is None else str(row[c]) for c, _ in keys) for row in rows]


SAFE_MIXES = [["iri"], ["string"], ["integer"], ["iri", "string"], ["iri", "integer"]]
# Strings beside integers are left out: on such a column Oxigraph's comparison is not a
# total order, and Rust's sort may then abort the whole process (pyoxigraph 0.5.13, seen
# here). test_strings_beside_numbers_are_not_sorted_here checks they are not sorted here.
UNSAFE_MIXES = [["bnode", "iri"], ["date"], ["decimal", "integer"], ["string", "same-text"]]


@pytest.mark.parametrize("seed", range(30))
def test_order_is_oxigraphs_on_random_columns(seed):
    rng = random.Random(seed)
    mixes = [rng.choice(SAFE_MIXES) for _ in range(3)]
    store = _graph(rng, mixes, rng.randint(5, 60))
    keys = [(c, rng.random() < 0.4) for c in rng.sample(range(3), rng.randint(1, 3))]
    query = _query(3, keys)
    engine = [tuple(s) for s in store.query(query)]
    text, order = ordering.split(query)
    unordered = [tuple(s) for s in store.query(text)]
    ours = ordering.sort(unordered, ["s", "c0", "c1", "c2"], order)
    assert ours is not None, f"columns of {mixes} should be sorted here"
    key_positions = [(c + 1, d) for c, d in keys]
    assert _key_columns(ours, key_positions) == _key_columns(engine, key_positions)
    assert sorted(map(str, ours)) == sorted(map(str, engine))


@pytest.mark.parametrize("seed", range(10))
def test_values_it_cannot_place_leave_the_order_to_the_engine(seed):
    rng = random.Random(seed)
    unsafe = UNSAFE_MIXES[seed % len(UNSAFE_MIXES)]
    store = _graph(rng, [unsafe, ["iri"], ["string"]], 40)
    query = _query(3, [(0, False), (1, False)])
    text, order = ordering.split(query)
    rows = [tuple(s) for s in store.query(text)]
    kinds_present = {type(r[1]).__name__ for r in rows if r[1] is not None}
    if kinds_present <= {"NamedNode"} and "bnode" in unsafe:
        pytest.skip("no blank node drawn")
    assert ordering.sort(rows, ["s", "c0", "c1", "c2"], order) is None
    # ... and the store answers in the engine's order all the same.
    expected = _result(["s", "c0", "c1", "c2"], [tuple(s) for s in store.query(query)]).rows
    got = EmbeddedStore(store).select(query).rows
    assert [(r.get("c0"), r.get("c1")) for r in got] == [(r.get("c0"), r.get("c1")) for r in expected]


def test_strings_beside_numbers_are_not_sorted_here():
    string, number = ox.Literal("a"), ox.Literal("7", datatype=ox.NamedNode(XSD + "integer"))
    assert ordering.sort([(string,), (number,)], ["v"], (("v", False),)) is None
    assert ordering.sort([(string,), (None,), (ox.NamedNode(EX),)], ["v"], (("v", False),)) is not None


def test_an_order_by_an_unprojected_variable_is_the_engines():
    store = _graph(random.Random(1), [["string"], ["iri"], ["integer"]], 30)
    query = f"SELECT ?s WHERE {{ ?s <{EX}c0> ?c0 }} ORDER BY DESC(?c0)"
    assert ordering.split(query) is not None
    expected = [r["s"]["value"] for r in _result(["s"], [tuple(s) for s in store.query(query)]).rows]
    assert [r["s"]["value"] for r in EmbeddedStore(store).select(query).rows] == expected


def test_cap_cuts_the_sorted_rows():
    store = _graph(random.Random(2), [["string"], ["iri"], ["integer"]], 50)
    query = _query(3, [(2, True), (0, False)])
    full = EmbeddedStore(store).select(query, cap=1000)
    capped = EmbeddedStore(store).select(query, cap=7)
    assert capped.truncated and not full.truncated
    assert [(r.get("c2"), r.get("c0")) for r in capped.rows] == [(r.get("c2"), r.get("c0")) for r in full.rows[:7]]


# ------------------------------------------------------------------ every question

@pytest.fixture(scope="module")
def shipped():
    return open_store({})


@pytest.fixture(scope="module")
def catalogue(repo_root):
    return load_catalogue(repo_root / "queries")


def test_every_question_in_the_engines_order(shipped, catalogue, monkeypatch):
    sorted_here = 0
    for question in catalogue:
        bindings = catalogue.bind(shipped, question, {k: v for k, v in CATALOGUE_PARAMS.items() if question.param(k)})
        split = ordering.split(question.query)
        assert split is not None, f"{question.id}: its ORDER BY is not one ordering.py takes"
        ours = shipped.select(question.query, bindings)
        sorted_here += shipped._select_sorted_here(question.query, bindings, 10**6) is not None
        with monkeypatch.context() as m:
            m.setattr(ordering, "split", lambda query: None)
            engine = shipped.select(question.query, bindings)
        keys = [name for name, _ in split[1]]
        assert ours.columns == engine.columns, question.id
        assert [[r.get(k) for k in keys] for r in ours.rows] == [[r.get(k) for k in keys] for r in engine.rows], question.id
        assert sorted(map(repr, ours.rows)) == sorted(map(repr, engine.rows)), question.id
    assert sorted_here == len(catalogue)
