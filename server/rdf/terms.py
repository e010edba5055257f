"""RDF terms and the one converter for each direction between their forms.

The forms: `IRI`/`Literal` (parameters bound by value), pyoxigraph terms (the engine),
SPARQL 1.1 JSON results terms ({"type": "uri"|"literal"|"bnode", "value", "datatype"?,
"xml:lang"?}: every store's answers, plain strings without a datatype), and rdflib terms
(the SHACL side, imported only when used: a query process never needs it). Every term written into query text is serialized by pyoxigraph, escaped,
never pasted.
"""

import functools
from dataclasses import dataclass

import pyoxigraph as ox

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class IRI:
    value: str


@dataclass(frozen=True)
class Literal:
    value: str
    datatype: str | None = None
    lang: str | None = None


def term_json(term) -> dict:
    """A pyoxigraph term, or a SPARQL JSON term as any endpoint wrote it, as the SPARQL JSON
    term every store answers with: "typed-literal" read as a literal, plain strings
    without a datatype."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, dict):
        kind = "literal" if term["type"] == "typed-literal" else term["type"]
        out = {"type": kind, "value": term["value"]}
        if term.get("xml:lang"):
            out["xml:lang"] = term["xml:lang"]
        elif term.get("datatype") and term["datatype"] != XSD_STRING:
            out["datatype"] = term["datatype"]
        return out
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


def to_oxigraph(term):
    """An `IRI`/`Literal` or a SPARQL JSON term as a pyoxigraph term."""
    if isinstance(term, IRI):
        return ox.NamedNode(term.value)
    if isinstance(term, Literal):
        if term.lang:
            return ox.Literal(term.value, language=term.lang)
        if term.datatype:
            return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
        return ox.Literal(term.value)
    if isinstance(term, dict):
        if term["type"] == "uri":
            return ox.NamedNode(term["value"])
        if term["type"] == "bnode":
            return ox.BlankNode(term["value"])
        if term.get("xml:lang"):
            return ox.Literal(term["value"], language=term["xml:lang"])
        if term.get("datatype"):
            return ox.Literal(term["value"], datatype=ox.NamedNode(term["datatype"]))
        return ox.Literal(term["value"])
    raise TypeError(f"cannot bind {term!r}: use terms.IRI or terms.Literal")


def to_rdflib(term: dict):
    """A SPARQL JSON results term as an rdflib term (plain strings stay untyped, as rdflib
    reads them from Turtle)."""
    import rdflib  # noqa: PLC0415 (~0.25 s, only on the SHACL side)

    kind = term["type"]
    if kind == "uri":
        return rdflib.URIRef(term["value"])
    if kind == "bnode":
        return rdflib.BNode(term["value"])
    datatype = term.get("datatype")
    if datatype == XSD_STRING:
        datatype = None
    return rdflib.Literal(term["value"], lang=term.get("xml:lang"), datatype=datatype)


def rdflib_sparql(term) -> str:
    """An rdflib IRI or literal as SPARQL text, serialized by pyoxigraph; ValueError for a
    blank node, which no query can name."""
    import rdflib  # noqa: PLC0415

    if isinstance(term, rdflib.URIRef):
        return str(ox.NamedNode(str(term)))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return str(ox.Literal(str(term), language=term.language))
        if term.datatype is not None:
            return str(ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype))))
        return str(ox.Literal(str(term)))
    raise ValueError(f"a blank node {term} cannot be written in a query")


def canonical(term):
    """An rdflib literal as an Oxigraph store keeps it: valid numbers and dates by value, so
    that "-1.00"^^xsd:decimal reads back as "-1". Both engines' reports show values this way."""
    import rdflib  # noqa: PLC0415

    if not isinstance(term, rdflib.Literal) or term.datatype is None:
        return term
    return rdflib.Literal(_canonical_lexical(str(term), str(term.datatype)), datatype=term.datatype)


@functools.lru_cache(maxsize=4096)
def _canonical_lexical(lexical: str, datatype: str) -> str:
    store = ox.Store()
    node = ox.NamedNode("urn:x-coderef:value")
    store.add(ox.Quad(node, node, ox.Literal(lexical, datatype=ox.NamedNode(datatype))))
    return next(iter(store)).object.value
