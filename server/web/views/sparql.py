"""`/sparql`: the SPARQL 1.1 Protocol, read-only, with a form page for people.

GET ?query=, POST form-encoded and POST application/sparql-query. Every query passes
server.sparql.check_query before the store (embedded or remote) sees it. Without a query,
machines get the service description and browsers the form.
"""

from urllib.parse import parse_qsl

import pyoxigraph as ox

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ...errors import BadRequest, CoderefError, Forbidden, NotAcceptable
from ..extensions import get_store
from ...namespaces import DCT, PREFIXES, RDF
from ...sparql.dataset import GRAPHS, Dataset
from ...sparql.formats import ALIASES, GRAPH_FORMATS, RESULT_FORMATS, Answer, format_name, run_query, serialize
from ...sparql.guard import REFUSALS, check_query
from ...rdf.terms import term_json

bp = Blueprint("sparql", __name__)

SD = "http://www.w3.org/ns/sparql-service-description#"
W3C_FORMATS = "http://www.w3.org/ns/formats/"
SD_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
              "Turtle", "N-Triples", "JSON-LD", "RDF_XML")

# Media types a client may ask for, per kind of answer, the default first.
RESULT_MEDIA = ["application/sparql-results+json", "application/json", "application/sparql-results+xml",
                "application/xml", "text/xml", "text/csv", "text/tab-separated-values"]
GRAPH_MEDIA = ["text/turtle", "application/turtle", "application/x-turtle", "application/n-triples",
               "application/ld+json", "application/json", "application/rdf+xml", "application/xml"]


class UnsupportedMediaType(CoderefError):
    status = 415


def _example(title: str, description: str, *lines: str) -> dict:
    return {"title": title, "description": description, "query": "\n".join(lines) + "\n"}


EXAMPLES = (
    _example("Codes and their labels", "Every code of the reference with its notation, label and code system.",
             "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
             "SELECT ?notation ?label ?scheme WHERE {",
             "  ?code skos:notation ?notation ; skos:prefLabel ?label ; skos:inScheme ?scheme .",
             "} ORDER BY ?notation LIMIT 100"),
    _example("Payer positions on 0584T", "Each payer's coverage status for CPT 0584T, with the policy.",
             "PREFIX cr: <https://w3id.org/coderef/ontology#>",
             "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
             "PREFIX schema: <https://schema.org/>",
             "SELECT ?payerName ?status ?policy WHERE {",
             "  ?policy cr:position ?position .",
             "  ?position cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ; cr:payer ?payer ;",
             "            cr:coverageStatus ?s .",
             "  ?payer schema:name ?payerName .",
             "  ?s skos:prefLabel ?status .",
             "} ORDER BY ?payerName"),
    _example("Is 0584T covered only in clinical trials somewhere?",
             "An ASK query: true when some payer position on 0584T says clinical trial only.",
             "PREFIX cr: <https://w3id.org/coderef/ontology#>",
             "ASK {",
             "  ?position cr:appliesTo <https://w3id.org/coderef/id/cpt/0584T> ;",
             "            cr:coverageStatus <https://w3id.org/coderef/id/vocab/coverage-status/clinical-trial-only> .",
             "}"),
    _example("Services bundled into 0584T, as a graph", "A CONSTRUCT query: the bundled services and their labels.",
             "PREFIX cr: <https://w3id.org/coderef/ontology#>",
             "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>",
             "CONSTRUCT { ?code cr:bundledService ?service . ?service rdfs:label ?label }",
             "WHERE {",
             "  BIND(<https://w3id.org/coderef/id/cpt/0584T> AS ?code)",
             "  ?code cr:bundledService ?service . ?service rdfs:label ?label .",
             "}"),
    _example("Which file says this?",
             "Each data file is a named graph of its own (https://w3id.org/coderef/graph/<file stem>): the files "
             "whose triples describe 0584T or refer to it, with how many triples of each.",
             "SELECT ?graph ?role (COUNT(*) AS ?triples) WHERE {",
             "  { GRAPH ?graph { <https://w3id.org/coderef/id/cpt/0584T> ?p ?o } BIND(\"describes 0584T\" AS ?role) }",
             "  UNION",
             "  { GRAPH ?graph { ?s ?p <https://w3id.org/coderef/id/cpt/0584T> } BIND(\"refers to 0584T\" AS ?role) }",
             "} GROUP BY ?graph ?role ORDER BY ?graph ?role"),
    _example("Payers, from one file only", "FROM names a file's graph: the payers as payers.ttl states them.",
             "PREFIX schema: <https://schema.org/>",
             "SELECT ?payer ?name FROM <https://w3id.org/coderef/graph/payers> WHERE {",
             "  ?payer schema:name ?name .",
             "} ORDER BY ?name"),
    _example("Everything said about 0584T", "A DESCRIBE query.",
             "DESCRIBE <https://w3id.org/coderef/id/cpt/0584T>"),
)


# ---------------------------------------------------------------- the request


def _utf8_form(raw: bytes, where: str) -> None:
    """A query string or form body whose percent-escapes are not UTF-8 is a 400: Werkzeug would
    read them with replacement characters, and the query run would not be the one sent."""
    try:
        parse_qsl(raw.decode("ascii", "strict"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise BadRequest(f"the {where} is not UTF-8: a SPARQL query is sent as UTF-8 text") from None


def _params() -> dict:
    """The protocol's parameters from the URL and, for a form post, the body (UTF-8 only)."""
    _utf8_form(request.query_string, "query string")
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        _utf8_form(request.get_data(cache=True), "form body")
    values = request.args.to_dict(flat=False)
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        for key, items in request.form.to_dict(flat=False).items():
            values.setdefault(key, []).extend(items)
    return values


def read_query(params: dict) -> str | None:
    """The query text of the request; refusals before anything else is read."""
    if "update" in params or request.mimetype == "application/sparql-update":
        raise Forbidden(REFUSALS["update"])
    if request.method == "POST" and request.mimetype == "application/sparql-query":
        if "query" in params:
            raise BadRequest("a direct POST carries the query as its body, not also as a query parameter")
        charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
        if charset not in ("utf-8", "utf8"):
            raise BadRequest(f"the query body is declared {charset}: a SPARQL query is sent as UTF-8 text")
        try:
            return request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the query body is not UTF-8 text") from None
    if request.method == "POST" and request.mimetype != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType(
            f"POST a query as application/x-www-form-urlencoded or application/sparql-query, not {request.mimetype or 'no type'}")
    queries = params.get("query", [])
    if len(queries) > 1:
        raise BadRequest("give one query parameter, not several")
    return queries[0] if queries else None


def negotiate(params: dict, graph: bool) -> str:
    """A format name (or "html") from ?format=, then Accept; 406 when nothing fits."""
    wanted = (params.get("format") or [None])[0]
    if wanted:
        return "html" if wanted.strip().lower() in ("html", "text/html") else format_name(wanted, graph)
    media = (GRAPH_MEDIA if graph else RESULT_MEDIA) + ["text/html"]
    if not request.accept_mimetypes:
        return format_name(media[0], graph)
    best = request.accept_mimetypes.best_match(media)
    if best is None:
        offered = GRAPH_FORMATS if graph else RESULT_FORMATS
        raise NotAcceptable(f"this answer comes as {', '.join(offered.values())}; the Accept header allows none of them")
    return "html" if best == "text/html" else format_name(ALIASES[best], graph)


def _is_graph_query(query: str) -> bool:
    return check_query(query) in ("CONSTRUCT", "DESCRIBE")


# ---------------------------------------------------------------- the answers


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint():
    params = _params()
    try:
        query = read_query(params)
    except CoderefError as err:
        if _wants_html(params):
            return _form(params, None, None, error=err), err.status
        raise
    if query is None:
        return service_description(params)
    try:
        graph = _is_graph_query(query)  # the check: a refused query stops here
        fmt = negotiate(params, graph)
    except CoderefError as err:
        if _wants_html(params):
            return _form(params, query, None, error=err), err.status
        raise
    cap = current_app.config["RESULT_CAP"]
    if fmt == "html":
        try:
            answer = run_query(get_store(), query, cap, Dataset.from_params(params))
        except CoderefError as err:
            return _form(params, query, None, error=err), err.status
        return _headers(Response(_form(params, query, answer), mimetype="text/html"), answer)
    answer = run_query(get_store(), query, cap, Dataset.from_params(params))
    body, media = serialize(answer, fmt)
    return _headers(Response(body, content_type=media), answer)


def _headers(response: Response, answer) -> Response:
    response.headers["X-Coderef-Truncated"] = "true" if answer.truncated else "false"
    response.headers["X-Coderef-Result-Cap"] = str(current_app.config["RESULT_CAP"])
    response.vary.add("Accept")
    return response


def _wants_html(params: dict) -> bool:
    wanted = (params.get("format") or [""])[0].strip().lower()
    if wanted:
        return wanted in ("html", "text/html")
    best = request.accept_mimetypes.best_match(RESULT_MEDIA + ["text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["*/*"]


def _form(params: dict, query: str | None, answer, error=None) -> str:
    fmt = (params.get("format") or ["html"])[0]
    downloads = []
    if answer is not None:
        offered = GRAPH_FORMATS if answer.is_graph else RESULT_FORMATS
        downloads = [(name, url_for("sparql.endpoint", query=query, format=name)) for name in offered]
    return render_template("sparql/form.html", query=query or EXAMPLES[0]["query"], ran=query is not None,
                           answer=answer, error=error, examples=EXAMPLES, downloads=downloads, fmt=fmt,
                           cap=current_app.config["RESULT_CAP"], prefixes=PREFIXES,
                           graph_term=term_json, example_url=lambda q: url_for("sparql.endpoint", query=q))


# ---------------------------------------------------------------- service description


def description_triples(endpoint_url: str, graphs=()) -> list:
    """The service description; `graphs` the IRIs of the store's named graphs (one per file)."""
    sd = lambda name: ox.NamedNode(SD + name)  # noqa: E731
    service, dataset, graph = ox.BlankNode(), ox.BlankNode(), ox.BlankNode()
    a = ox.NamedNode(RDF + "type")
    triples = [
        ox.Triple(service, a, sd("Service")),
        ox.Triple(service, sd("endpoint"), ox.NamedNode(endpoint_url)),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, a, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), graph),
        ox.Triple(graph, a, sd("Graph")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(service, ox.NamedNode(DCT + "description"), ox.Literal(
            "coderef, a knowledge-graph reference for medical billing codes: read-only SPARQL 1.1 Query. "
            "SPARQL Update, SERVICE and LOAD are refused. The default graph is the union of the data files' "
            "graphs; FROM, FROM NAMED, default-graph-uri and named-graph-uri name those graphs only, and an "
            "IRI this store does not hold is an empty graph, never fetched. "
            f"Answers stop at {current_app.config['RESULT_CAP']} rows or triples; "
            "the X-Coderef-Truncated header says when they did.", language="en")),
    ]
    triples += [ox.Triple(service, sd("resultFormat"), ox.NamedNode(W3C_FORMATS + name)) for name in SD_FORMATS]
    for name in graphs:
        named, described = ox.BlankNode(), ox.BlankNode()
        triples += [ox.Triple(dataset, sd("namedGraph"), named), ox.Triple(named, a, sd("NamedGraph")),
                    ox.Triple(named, sd("name"), ox.NamedNode(name)), ox.Triple(named, sd("graph"), described),
                    ox.Triple(described, a, sd("Graph"))]
    return triples


def service_description(params: dict):
    wanted = (params.get("format") or [None])[0]
    if wanted:
        fmt = "html" if wanted.strip().lower() in ("html", "text/html") else format_name(wanted, graph=True)
    else:
        best = request.accept_mimetypes.best_match(GRAPH_MEDIA + ["text/html"]) if request.accept_mimetypes else "text/turtle"
        if best is None:
            raise NotAcceptable("the service description comes as Turtle, N-Triples, JSON-LD or RDF/XML, and the form as HTML; "
                                "the Accept header allows none of them")
        fmt = "html" if best == "text/html" else format_name(ALIASES[best], graph=True)
    if fmt == "html":
        return _form(params, None, None)
    graphs = [row["graph"]["value"] for row in get_store().select(GRAPHS).rows]
    triples = description_triples(url_for("sparql.endpoint", _external=True), graphs)
    body, media = serialize(Answer("DESCRIBE", triples=triples), fmt)
    response = Response(body, content_type=media)
    response.vary.add("Accept")
    return response
