"""Hostile input: whatever a client types, the query's shape stays the question's and the
answer is a 200, 400 or 404, never a 500.

Property tests (hypothesis) drive every parameter type of server/questions/ and the search
box with arbitrary Unicode, very long text, SPARQL metacharacters and injection attempts,
through a store wrapper that records what reaches the store: the query text must be one of
the texts the server ships (the question's file, the look-ups, the search queries) and the
values only bindings; the text a remote endpoint would receive (the bindings as a VALUES
block) must tokenize like the same query with harmless values. Then schemathesis fuzzes the
JSON API from its own OpenAPI description, and bodies over MAX_CONTENT_LENGTH get a 413.
"""

import contextlib
import json

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from server import search
from server.questions.facts import LABEL_QUERY
from server.questions import binding as questions
from server.questions import PARAM_TYPES, Catalogue, read_question
from server.sparql.text import inject_values, tokens
from server.rdf.terms import IRI, Literal

QUICK = settings(max_examples=60, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                 suppress_health_check=list(HealthCheck))

# Pieces of SPARQL an attacker would splice in, and real values to wrap them around
# (fact sheet: 0584T, medicare, E10.649; review ages are whole days).
FRAGMENTS = ['"', "'", '"""', "<", ">", "{", "}", "(", ")", "#", "\\", "\\u0022", "\\u003E", "\n", "\r", "\x00",
             "?code", "$code", "^^", "@en", ".", ";", ",", "*", "|", "/", "%3E", "%22", "&", "=",
             "> } SERVICE <http://127.0.0.1:9/> {", '" } ; DROP ALL ; #', "} UNION { ?s ?p ?o }",
             "\" . FILTER(true) #", "VALUES ?code { <urn:x> }", "LOAD <file:///etc/passwd>",
             "INSERT DATA { <urn:x> <urn:y> <urn:z> }", "FROM <http://127.0.0.1:9/>", "cpt/", "pos/", "modifier/"]
REAL = ["0584T", "0585T", "E10.649", "medicare", "aetna", "2026-03-02", "today", "365", "Q0", "21", "portal vein"]

hostile_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(REAL), st.text(max_size=5)), max_size=8).map("".join),
    st.sampled_from(REAL).flatmap(lambda v: st.sampled_from(FRAGMENTS).map(lambda f: v + f)),
    st.text(min_size=300, max_size=3000),  # past every length limit
    st.builds(lambda piece, n: piece * n, st.sampled_from(FRAGMENTS + REAL), st.integers(50, 4000)),
)


# ---------------------------------------------------------------- recording what reaches the store


class Recorder:
    """The app's store, recording (query text, bindings) of every call."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def select(self, query, bindings=None, cap=None):
        self.calls.append((query, dict(bindings or {})))
        return self.inner.select(query, bindings=bindings, cap=cap)

    def ask(self, query, bindings=None):
        self.calls.append((query, dict(bindings or {})))
        return self.inner.ask(query, bindings=bindings)

    def construct(self, query, bindings=None):
        self.calls.append((query, dict(bindings or {})))
        return self.inner.construct(query, bindings=bindings)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@contextlib.contextmanager
def recording(app):
    holder = app.extensions["coderef.graph"]
    inner = holder.store
    recorder = Recorder(inner)
    holder.store = recorder
    try:
        yield recorder
    finally:
        holder.store = inner


def shipped_texts(catalogue) -> set:
    """Every query text the server may send while answering questions and searches."""
    texts = {q.query for q in catalogue} | {questions._LOOKUP_CODE, questions._LOOKUP_IRI}
    texts |= {search._BY_NOTATION, search._BY_INDICATION_NOTATION, LABEL_QUERY}
    texts |= {search._words_query(n, via) for n in range(1, search.MAX_WORDS + 1) for via in ("code", "dx", "product")}
    return texts


def harmless(term):
    if isinstance(term, tuple):  # a VALUES column: as many harmless rows
        return tuple(harmless(t) for t in term)
    if isinstance(term, IRI):
        return IRI("urn:coderef:x")
    return Literal("x", term.datatype) if getattr(term, "datatype", None) else Literal("x")


def shape(text: str) -> list:
    """The token sequence with every string and IRI reduced to its kind."""
    return [(kind, "" if kind in ("string", "iri") else value.upper()) for kind, value, _, _ in tokens(text)]


def assert_shape_kept(recorder, allowed: set):
    for query, bindings in recorder.calls:
        assert query in allowed, f"a query text the server does not ship reached the store:\n{query[:500]}"
        # A term, or a column of them (an icd10cm-list's VALUES rows), never text.
        assert all(isinstance(t, (IRI, Literal)) for v in bindings.values()
                   for t in (v if isinstance(v, tuple) else (v,))), bindings
        if bindings:
            wire = inject_values(query, bindings)  # what a remote endpoint receives
            assert shape(wire) == shape(inject_values(query, {k: harmless(v) for k, v in bindings.items()}))
            ox.Store().query(wire)  # and it parses (an empty store: nothing runs long)
    recorder.calls.clear()


def status_ok(response, path):
    assert response.status_code in (200, 400, 404), (path, response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code != 200 and (path.startswith("/api/") or response.is_json):
        body = response.get_json()
        assert body == {"ok": False, "error": body["error"], "status": response.status_code}


# ---------------------------------------------------------------- parameter binders


BENIGN = {"code": "0584T", "icd10cm": "E10.649", "icd10cm-list": "E10.649 R73.9", "payer": "medicare", "date": "2026-03-02", "integer": "365"}


def baseline_texts(app, client, paths, params) -> set:
    """The texts a page sends whatever its input (its own fixed queries), from a harmless request."""
    with recording(app) as recorder:
        for path in paths:
            assert client.get(path, query_string=params).status_code == 200, path
    return {query for query, bindings in recorder.calls if not bindings}


def question_with(catalogue, kind: str):
    return next(q for q in sorted(catalogue, key=lambda q: q.id) for p in q.params if p.type == kind)


def test_every_param_type_is_covered():
    assert set(PARAM_TYPES) == {"code", "icd10cm", "icd10cm-list", "payer", "date", "string", "integer"}


@pytest.mark.parametrize("kind", ["code", "icd10cm", "icd10cm-list", "payer", "date", "integer"])
def test_param_binder_keeps_the_query_shape(app, kind):
    catalogue = app.extensions["coderef.questions"]
    question = question_with(catalogue, kind)
    param = next(p for p in question.params if p.type == kind)
    others = {p.name: BENIGN[p.type] for p in question.params if p.required and p is not param}
    client = app.test_client()
    paths = (f"/api/questions/{question.id}", f"/questions/{question.id}")
    allowed = shipped_texts(catalogue) | baseline_texts(app, client, paths, {**others, param.name: BENIGN[kind]})
    seen = set()

    @QUICK
    @given(value=hostile_text)
    def check(value):
        with recording(app) as recorder:
            for path in paths:
                response = client.get(path, query_string={**others, param.name: value})
                status_ok(response, path)
                seen.add(response.status_code)
            assert_shape_kept(recorder, allowed)

    check()
    assert 400 in seen  # the generator reached the validation


def test_string_binder_keeps_the_query_shape(app, tmp_path):
    """No shipped question takes a free string; this one does, over the app's store."""
    path = tmp_path / "label_contains.rq"
    path.write_text(
        "#+ summary: Codes whose label contains a text\n"
        "#+ params:\n#+   - {name: text, type: string, required: true}\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "SELECT ?code ?label WHERE {\n  ?code skos:prefLabel ?label .\n"
        "  FILTER(CONTAINS(LCASE(STR(?label)), LCASE(?text)))\n} ORDER BY ?code LIMIT 5\n", encoding="utf-8")
    question = read_question(path)
    catalogue = Catalogue([question])
    store = app.extensions["coderef.graph"].store

    @QUICK
    @given(value=hostile_text)
    def check(value):
        recorder = Recorder(store)
        try:
            answer = catalogue.run(recorder, question.id, {"text": value})
        except questions.BadRequest as err:
            assert len(value) > questions.MAX_STRING or not value.strip(), err
            return
        assert answer.bindings["text"] == Literal(value)  # the value, whole and unchanged
        assert_shape_kept(recorder, {question.query})

    check()
    # and a value that is text in the data finds it
    assert catalogue.run(store, question.id, {"text": "portal"}).rows


# ---------------------------------------------------------------- the search box


@pytest.mark.parametrize("path", ["/api/search", "/search"])
def test_search_box_keeps_the_query_shape(app, path):
    client = app.test_client()
    allowed = shipped_texts(app.extensions["coderef.questions"]) | baseline_texts(app, client, [path], {"q": "portal vein"})

    @QUICK
    @given(value=hostile_text)
    def check(value):
        with recording(app) as recorder:
            response = client.get(path, query_string={"q": value})
            if response.status_code == 302:  # issue 16: an exact notation jumps to its code page, on this site
                assert path == "/search" and response.headers["Location"].startswith("/codes/")
            else:
                status_ok(response, path)
            assert_shape_kept(recorder, allowed)

    check()


# ---------------------------------------------------------------- the JSON API from its OpenAPI description


@pytest.mark.embedded_only
def test_api_fuzzed_from_its_openapi_description(app):
    import schemathesis  # noqa: PLC0415

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
            # Every other check (server errors, status codes, media types, headers, response
            # schemas); not "schema-valid data is accepted": a SPARQL query or a well-formed code
            # that names no code is a string the schema admits and the server rightly answers 400.
            case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])

        try:
            fuzz()
        except BaseException as err:  # noqa: BLE001 (schemathesis raises groups: gather them all, then report)
            failures[operation.label] = str(err)[:1500]
    assert operations > 20
    assert not failures, json.dumps(failures, indent=1)


# ---------------------------------------------------------------- bodies over the limit


@pytest.mark.embedded_only
@pytest.mark.parametrize("how", ["sparql-direct", "sparql-form", "check-claim", "check-claim-form"])
def test_bodies_over_the_limit_are_413(app, how):
    limit = app.config["MAX_CONTENT_LENGTH"]
    client = app.test_client()
    big = b" " * (limit + 1)
    if how == "sparql-direct":
        response = client.post("/sparql", data=b"ASK {}" + big, content_type="application/sparql-query")
    elif how == "sparql-form":
        response = client.post("/sparql", data=b"query=ASK+%7B%7D" + big, content_type="application/x-www-form-urlencoded")
    elif how == "check-claim":
        response = client.post("/api/check-claim", data=b"{}" + big, content_type="application/json")
    else:
        response = client.post("/check-claim", data=b"payer=medicare" + big, content_type="application/x-www-form-urlencoded",
                               headers={"Accept": "application/json"})
    assert response.status_code == 413
    body = response.get_json()
    assert body == {"ok": False, "error": body["error"], "status": 413}
    assert str(limit) in body["error"]


@pytest.mark.embedded_only
def test_a_body_just_under_the_limit_is_read(app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    claim = json.dumps({"payer": "medicare", "date_of_service": "2026-03-02", "place_of_service": "21",
                        "diagnoses": ["E10.649", "Z00.6"], "clinical_trial_nct": "NCT00679042",
                        "lines": [{"code": "0584T", "modifiers": ["Q0"], "units": 1}]}).encode()
    body = claim + b" " * (limit - len(claim))
    assert len(body) == limit
    assert app.test_client().post("/api/check-claim", data=body, content_type="application/json").status_code == 200
