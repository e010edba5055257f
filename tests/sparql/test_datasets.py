"""Datasets (issue 19): one named graph per data file, the default graph their union, and the
SPARQL Protocol's graph parameters and FROM naming those graphs. Both backends."""

import pyoxigraph as ox
from SPARQLWrapper import JSON, SPARQLWrapper

from server import config as cfg
from server.graph import builds
from server.rdf.dataset import GRAPH_BASE
from server.rdf.parsing import load_store, parse_file
from server.sparql.dataset import without_dataset
from support.serving import served

PAYERS = GRAPH_BASE + "payers"
MODIFIERS = GRAPH_BASE + "modifiers"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
VIRTUOSO_SYSTEM_GRAPHS = {"http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#",
                          "http://localuriqaserver/sparql"}
PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def sparql(client, query: str, **params):
    response = client.get("/sparql", query_string={"query": query, **params},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def number(body) -> int:
    return int(body["results"]["bindings"][0]["n"]["value"])


def file_triples(name: str) -> int:
    return len(parse_file(cfg.REPO_ROOT / "data" / name))


def test_every_file_is_a_graph_and_the_default_graph_their_union(client, backend):
    rows = sparql(client, PER_GRAPH)["results"]["bindings"]
    graphs = {r["g"]["value"]: int(r["n"]["value"]) for r in rows}
    files = cfg.data_files(cfg.resolve({}))
    ours = {g: n for g, n in graphs.items() if g.startswith(GRAPH_BASE)}
    # The shipped files repeat no triple: each graph holds its whole file.
    assert ours == {GRAPH_BASE + f.stem: len(parse_file(f)) for f in files}
    # Virtuoso's own system graphs (RDF views, LDP, URIQA) are in every database it holds.
    others = set(graphs) - set(ours)
    assert others == (VIRTUOSO_SYSTEM_GRAPHS if backend == "virtuoso" else set())
    assert number(sparql(client, COUNT)) == sum(graphs.values())


def test_without_dataset_takes_out_from_clauses_only():
    query = 'PREFIX g: <urn:g#> SELECT * FROM <urn:a> FROM NAMED g:b WHERE { ?s <urn:FROM> "FROM x" }'
    assert without_dataset(query).split() == 'PREFIX g: <urn:g#> SELECT * WHERE { ?s <urn:FROM> "FROM x" }'.split()
    assert without_dataset(COUNT) == COUNT


def test_from_reads_the_named_files_only(client):
    assert number(sparql(client, f"SELECT (COUNT(*) AS ?n) FROM <{PAYERS}> WHERE {{ ?s ?p ?o }}")) == file_triples("payers.ttl")
    both = f"SELECT (COUNT(*) AS ?n) FROM <{PAYERS}> FROM <{MODIFIERS}> WHERE {{ ?s ?p ?o }}"
    assert number(sparql(client, both)) == file_triples("payers.ttl") + file_triples("modifiers.ttl")
    # FROM NAMED alone: an empty default graph, the named one through GRAPH.
    named = f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{PAYERS}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"
    rows = sparql(client, named)["results"]["bindings"]
    assert [(r["g"]["value"], int(r["n"]["value"])) for r in rows] == [(PAYERS, file_triples("payers.ttl"))]
    assert number(sparql(client, f"SELECT (COUNT(*) AS ?n) FROM NAMED <{PAYERS}> WHERE {{ ?s ?p ?o }}")) == 0


def test_protocol_parameters_override_from(client):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{PAYERS}> WHERE {{ ?s ?p ?o }}"
    assert number(sparql(client, query, **{"default-graph-uri": MODIFIERS})) == file_triples("modifiers.ttl")
    rows = sparql(client, PER_GRAPH, **{"named-graph-uri": MODIFIERS})["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [MODIFIERS]
    # Only named graphs given: the default graph is empty, as the Protocol says.
    assert number(sparql(client, COUNT, **{"named-graph-uri": MODIFIERS})) == 0


def test_protocol_parameters_from_a_client_library(app):
    """SPARQLWrapper sends default-graph-uri the way integrators' clients do."""
    with served(app) as base:
        client = SPARQLWrapper(base + "/sparql")
        client.setQuery(COUNT)
        client.addDefaultGraph(PAYERS)
        client.setReturnFormat(JSON)
        assert number(client.queryAndConvert()) == file_triples("payers.ttl")


def test_a_graph_parameter_that_is_no_iri_is_a_400(client):
    response = client.get("/sparql", query_string={"query": COUNT, "named-graph-uri": "not an iri"})
    assert response.status_code == 400
    assert "named-graph-uri must be an absolute IRI" in response.get_json()["error"]


def test_the_service_description_lists_the_graphs(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    graph = ox.Store()
    graph.load(response.get_data(), format=ox.RdfFormat.TURTLE)
    names = {r["name"].value for r in graph.query(
        "PREFIX sd: <http://www.w3.org/ns/sparql-service-description#> "
        "SELECT ?name { ?s sd:defaultDataset/sd:namedGraph/sd:name ?name ; sd:feature sd:UnionDefaultGraph }")}
    assert PAYERS in names and MODIFIERS in names
    assert len(names) == len(cfg.data_files(cfg.resolve({})))


def test_which_file_says_this(client):
    """The form's example: each file's triples about 0584T, counted from the files themselves."""
    from server.web.views.sparql import EXAMPLES

    example = next(e["query"] for e in EXAMPLES if e["title"] == "Which file says this?")
    rows = {(r["graph"]["value"], r["role"]["value"]): int(r["triples"]["value"])
            for r in sparql(client, example)["results"]["bindings"]}
    code = ox.NamedNode("https://w3id.org/coderef/id/cpt/0584T")
    expected = {}
    for f in cfg.data_files(cfg.resolve({})):
        quads = parse_file(f)
        for role, n in (("describes 0584T", sum(q.subject == code for q in quads)),
                        ("refers to 0584T", sum(q.object == code for q in quads))):
            if n:
                expected[(GRAPH_BASE + f.stem, role)] = n
    assert rows == expected
    assert rows[(GRAPH_BASE + "cpt-0584T", "describes 0584T")] > 10


def test_from_example_reads_one_file(client):
    from server.web.views.sparql import EXAMPLES

    example = next(e["query"] for e in EXAMPLES if e["title"] == "Payers, from one file only")
    names = {r["name"]["value"] for r in sparql(client, example)["results"]["bindings"]}
    assert "Medicare" in names and len(names) >= 10


# ------------------------------------------------------------------ repeated triples


REPEAT = """@prefix schema: <https://schema.org/> .
<https://w3id.org/coderef/id/payer/medicare> schema:name "Medicare" .
<https://example.org/only-here> schema:name "Only here" .
"""


def test_a_repeated_triple_is_kept_in_the_first_file_only(root_copy, tmp_path):
    """Oxigraph's union is of quads: a triple in two graphs would be matched twice."""
    (root_copy / "data" / "zz-repeats.ttl").write_text(REPEAT, encoding="utf-8")
    files = cfg.data_files(cfg.resolve({"ROOT": str(root_copy)}))
    medicare = "SELECT ?g WHERE { GRAPH ?g { <https://w3id.org/coderef/id/payer/medicare> <https://schema.org/name> ?n } }"
    assert any(q.triple == parse_file(root_copy / "data" / "zz-repeats.ttl")[0].triple
               for q in parse_file(root_copy / "data" / "payers.ttl")), "the fixture must repeat a payers.ttl triple"
    found = []
    store = load_store(files, repeats=found)
    assert [r["g"].value for r in store.query(medicare)] == [PAYERS]
    assert found == [{"kept in": PAYERS, "repeated by": GRAPH_BASE + "zz-repeats", "triples": 1}]
    assert len(list(store.quads_for_pattern(None, None, None, ox.NamedNode(GRAPH_BASE + "zz-repeats")))) == 1

    build = builds.build_persisted(files, tmp_path / "store")
    assert builds.manifest(build)["repeats"] == found
    persisted = ox.Store.read_only(str(build))
    assert [r["g"].value for r in persisted.query(medicare)] == [PAYERS]
    assert len(persisted) == len(store)
