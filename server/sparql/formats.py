"""Running a checked query on any store, and its answer in the SPARQL result and RDF formats."""

import csv
import io
import json
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from ..errors import NotAcceptable
from ..namespaces import PREFIXES
from ..rdf.terms import to_oxigraph
from .guard import check_query


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


def run_query(store, text: str, cap: int, dataset=None) -> Answer:
    """Check, then run through the store's interface (either backend) over `dataset` (the
    Protocol's, server/sparql/dataset.py) or the store's own; at most `cap` rows or triples,
    `truncated` saying whether the cap cut the answer."""
    form = check_query(text)
    if form == "SELECT":
        result = store.select(text, cap=cap, dataset=dataset)
        return Answer(form, columns=result.columns, rows=result.rows, truncated=result.truncated)
    if form == "ASK":
        return Answer(form, boolean=store.ask(text, dataset=dataset))
    triples = store.construct(text, dataset=dataset)
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
        lines.append("\t".join(str(to_oxigraph(row[c])) if c in row else "" for c in answer.columns))
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
