"""The read-only SPARQL service: the check every query passes before any store sees it,
running it through the app store, the result formats, and `coderef sparql`.

The check parses the query (rdflib's SPARQL 1.1 grammar) and refuses what would write or
reach outside: SPARQL Update, SERVICE, FROM / FROM NAMED and LOAD. The embedded Oxigraph
engine does send SERVICE requests (measured), and a remote endpoint may fetch FROM IRIs,
so the check runs in front of both backends, never inside one.

rdflib and Oxigraph read the same text differently in two places, and a difference is a
way past the check: rdflib expands \\uXXXX escapes before parsing (as SPARQL 1.1 section
19.2 says) and Oxigraph does not, and Oxigraph ends a comment at a carriage return while
rdflib reads on to the newline. rdflib therefore parses a copy of the text made to read as
Oxigraph reads it; the text executed is the text checked.
"""

import csv
import functools
import io
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from .errors import BadRequest, Forbidden, NotAcceptable
from .namespaces import PREFIXES

QUERY_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
# Keywords that never occur in a query this service runs; seen outside strings, IRIs and
# comments, they refuse the query whatever the parser made of it (a second opinion).
REFUSED_WORDS = {"SERVICE": "SERVICE", "FROM": "FROM", "LOAD": "LOAD"}

REFUSALS = {
    "update": "SPARQL Update is refused: this service is read-only",
    "SERVICE": "SERVICE is refused: queries run over this reference only and never call other endpoints",
    "FROM": "FROM and FROM NAMED are refused: queries run over this reference's own graph, not over fetched IRIs",
    "LOAD": "LOAD is refused: this service is read-only",
    "dataset": "default-graph-uri and named-graph-uri are refused: queries run over this reference's own graph",
}

# A backslash pair stays (so "\\u0041" is a backslash and text); an escape becomes one
# neutral character, which keeps strings strings and IRIs IRIs, as Oxigraph lexes them.
_ESCAPE = re.compile(r"\\\\|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}")
# pyparsing's grammar objects keep state while parsing; one parse at a time.
_PARSING = threading.Lock()


def _as_oxigraph_reads(text: str) -> str:
    text = _ESCAPE.sub(lambda m: m.group() if m.group() == "\\\\" else "x", text)
    return text.replace("\r", "\n")


def _nodes(tree, name: str):
    """Every CompValue called `name` in an rdflib parse tree."""
    from rdflib.plugins.sparql.parserutils import CompValue  # noqa: PLC0415 (slow import)

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == name:
                yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
            stack.extend(node)


def _first_word(text: str) -> str | None:
    from .remote import tokens  # noqa: PLC0415

    for kind, value, _, _ in tokens(text):
        if kind == "word" and value.upper() not in ("PREFIX", "BASE") and ":" not in value:
            return value.upper()
    return None


@functools.lru_cache(maxsize=256)  # pure; the view checks before negotiating, run_query again
def check_query(text) -> str:
    """The query form (SELECT, ASK, CONSTRUCT, DESCRIBE) of a query this service will run;
    BadRequest (400) for a malformed query, Forbidden (403) for what it refuses."""
    from pyparsing import ParseBaseException  # noqa: PLC0415
    from rdflib.plugins.sparql import parser  # noqa: PLC0415 (slow import, first query only)

    from .remote import tokens  # noqa: PLC0415

    if not isinstance(text, str) or not text.strip():
        raise BadRequest("no query: give a SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query")
    view = _as_oxigraph_reads(text)
    try:
        with _PARSING:
            tree = parser.Query.parse_string(view, parse_all=True)
    except ParseBaseException as err:
        if _first_word(view) in UPDATE_WORDS or _parses_as_update(view):
            raise Forbidden(REFUSALS["LOAD" if _first_word(view) == "LOAD" else "update"]) from None
        raise BadRequest(f"malformed SPARQL: {err}") from None
    except RecursionError:
        raise BadRequest("malformed SPARQL: nested too deeply to read") from None
    query = tree[-1]
    if any(_nodes(query, "DatasetClause")):
        raise Forbidden(REFUSALS["FROM"])
    if any(_nodes(query, "ServiceGraphPattern")):
        raise Forbidden(REFUSALS["SERVICE"])
    for kind, value, _, _ in tokens(view):
        if kind == "word" and value.upper() in REFUSED_WORDS:
            raise Forbidden(REFUSALS[REFUSED_WORDS[value.upper()]])
    return QUERY_FORMS[query.name]


def _parses_as_update(view: str) -> bool:
    from pyparsing import ParseBaseException  # noqa: PLC0415
    from rdflib.plugins.sparql import parser  # noqa: PLC0415

    try:
        with _PARSING:
            parser.UpdateUnit.parse_string(view, parse_all=True)
    except (ParseBaseException, RecursionError):
        return False
    return True


# ---------------------------------------------------------------- running


@dataclass
class Answer:
    """What a query gave: rows (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE)."""

    form: str
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    boolean: bool | None = None
    triples: list = field(default_factory=list)
    truncated: bool = False

    @property
    def is_graph(self) -> bool:
        return self.form in ("CONSTRUCT", "DESCRIBE")


def run_query(store, text: str, cap: int) -> Answer:
    """Check, then run through the store's interface (either backend); at most `cap` rows
    or triples, `truncated` saying whether the cap cut the answer."""
    form = check_query(text)
    if form == "SELECT":
        result = store.select(text, cap=cap)
        return Answer(form, columns=result.columns, rows=result.rows, truncated=result.truncated)
    if form == "ASK":
        return Answer(form, boolean=store.ask(text))
    triples = store.construct(text)
    return Answer(form, triples=triples[:cap], truncated=len(triples) > cap)


# ---------------------------------------------------------------- formats

# name -> media type, in the order a client that accepts anything gets them.
RESULT_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_FORMATS = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
}
# Other media types and names clients use for the same formats.
ALIASES = {
    "application/json": "json", "application/sparql-results+json": "json",
    "application/xml": "xml", "text/xml": "xml", "application/sparql-results+xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
    "ttl": "turtle", "text/turtle": "turtle", "application/x-turtle": "turtle",
    "nt": "ntriples", "n-triples": "ntriples", "application/n-triples": "ntriples", "text/plain": "ntriples",
    "json-ld": "jsonld", "application/ld+json": "jsonld",
    "rdf": "rdfxml", "rdf+xml": "rdfxml", "application/rdf+xml": "rdfxml",
}
_RDF = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
        "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}


def format_name(wanted: str, graph: bool) -> str:
    """A format name from a `format` parameter (a name or a media type)."""
    offered = GRAPH_FORMATS if graph else RESULT_FORMATS
    wanted = wanted.strip().lower()
    name = ALIASES.get(wanted, wanted)
    if graph and name in ("xml", "json"):  # SPARQLWrapper says xml for RDF/XML, json for JSON-LD
        name = {"xml": "rdfxml", "json": "jsonld"}[name]
    if name not in offered:
        kind = "graphs (CONSTRUCT, DESCRIBE)" if graph else "results (SELECT, ASK)"
        raise NotAcceptable(f"format {wanted!r} is not offered for {kind}; use one of {', '.join(offered)}")
    return name


def to_term(term: dict):
    """A SPARQL JSON results term as a pyoxigraph term."""
    if term["type"] == "uri":
        return ox.NamedNode(term["value"])
    if term["type"] == "bnode":
        return ox.BlankNode(term["value"])
    if term.get("xml:lang"):
        return ox.Literal(term["value"], language=term["xml:lang"])
    if term.get("datatype"):
        return ox.Literal(term["value"], datatype=ox.NamedNode(term["datatype"]))
    return ox.Literal(term["value"])


def _json(answer: Answer) -> str:
    if answer.form == "ASK":
        return json.dumps({"head": {}, "boolean": answer.boolean})
    return json.dumps({"head": {"vars": answer.columns}, "results": {"bindings": answer.rows}}, ensure_ascii=False)


def _xml_term(term: dict) -> str:
    if term["type"] == "uri":
        return f"<uri>{escape(term['value'])}</uri>"
    if term["type"] == "bnode":
        return f"<bnode>{escape(term['value'])}</bnode>"
    attrs = ""
    if term.get("xml:lang"):
        attrs = f" xml:lang={quoteattr(term['xml:lang'])}"
    elif term.get("datatype"):
        attrs = f" datatype={quoteattr(term['datatype'])}"
    return f"<literal{attrs}>{escape(term['value'])}</literal>"


def _xml(answer: Answer) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">']
    if answer.form == "ASK":
        out += ["<head/>", f"<boolean>{'true' if answer.boolean else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out.append("<head>" + "".join(f"<variable name={quoteattr(c)}/>" for c in answer.columns) + "</head>")
    out.append("<results>")
    for row in answer.rows:
        cells = "".join(f"<binding name={quoteattr(c)}>{_xml_term(row[c])}</binding>" for c in answer.columns if c in row)
        out.append(f"<result>{cells}</result>")
    out += ["</results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _csv(answer: Answer) -> str:
    """SPARQL 1.1 CSV: plain values, empty when unbound; an ASK answer as one value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if answer.form == "ASK":
        writer.writerow(["true" if answer.boolean else "false"])
        return out.getvalue()
    writer.writerow(answer.columns)
    for row in answer.rows:
        cells = []
        for c in answer.columns:
            term = row.get(c)
            cells.append("" if term is None else ("_:" + term["value"] if term["type"] == "bnode" else term["value"]))
        writer.writerow(cells)
    return out.getvalue()


def _tsv(answer: Answer) -> str:
    """SPARQL 1.1 TSV: terms as in Turtle, written (and escaped) by pyoxigraph."""
    if answer.form == "ASK":
        return ("true" if answer.boolean else "false") + "\n"
    lines = ["\t".join("?" + c for c in answer.columns)]
    for row in answer.rows:
        lines.append("\t".join(str(to_term(row[c])) if c in row else "" for c in answer.columns))
    return "\n".join(lines) + "\n"


_WRITERS = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}


def serialize(answer: Answer, name: str) -> tuple[bytes, str]:
    """(body, media type) of an answer in the named format."""
    if answer.is_graph:
        name = format_name(name, graph=True)
        prefixes = PREFIXES if name in ("turtle", "rdfxml") else None
        # JSON-LD in expanded form: no @context at all, so nothing to fetch, here or by a reader.
        body = ox.serialize(answer.triples, format=_RDF[name], prefixes=prefixes) if answer.triples else b""
        if not body and name == "jsonld":
            body = b"[]"
        media = GRAPH_FORMATS[name]
    else:
        name = format_name(name, graph=False)
        body = _WRITERS[name](answer).encode("utf-8")
        media = RESULT_FORMATS[name]
    charset = "; charset=utf-8" if media.startswith("text/") or media.endswith(("json", "xml")) else ""
    return body, media + charset


# ---------------------------------------------------------------- CLI


CLI_FORMATS = ("json", "csv", "tsv", "xml", "turtle", "ntriples", "jsonld", "rdfxml")


def cmd_sparql(args) -> int:
    from .cli import settings_from  # noqa: PLC0415
    from .stores import open_store  # noqa: PLC0415

    text = sys.stdin.read() if args.query == "-" else args.query
    form = check_query(text)  # refused before any data is loaded or any endpoint asked
    graph = form in ("CONSTRUCT", "DESCRIBE")
    name = format_name(args.format or ("turtle" if graph else "json"), graph)
    settings = settings_from(args)
    answer = run_query(open_store(settings), text, settings["RESULT_CAP"])
    body, _ = serialize(answer, name)
    sys.stdout.buffer.write(body)
    if body and not body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    if answer.truncated:
        print(f"coderef: the answer was cut at the result cap ({settings['RESULT_CAP']})", file=sys.stderr)
    return 0


def register_cli(sub, common):
    p = sub.add_parser("sparql", parents=[common], help="run a read-only SPARQL query (the same answer as /sparql)")
    p.add_argument("query", help="the SPARQL query text, or - to read it from standard input")
    p.add_argument("--format", choices=CLI_FORMATS,
                   help="json|csv|tsv|xml for SELECT/ASK (default json), turtle|ntriples|jsonld|rdfxml for CONSTRUCT/DESCRIBE (default turtle)")
    p.set_defaults(func=cmd_sparql)
