"""`/id/...`: every thing of the reference at its own address, by content negotiation.

The IRIs in the data are https://w3id.org/coderef/id/<scheme>/<rest>; this server answers
the path. Browsers get a readable page (label, types, every property, incoming links,
sources); programs get the resource's concise description (its triples, and those of the
blank nodes it holds) as Turtle, JSON-LD, N-Triples or RDF/XML, by Accept, ?format= or a
suffix (.ttl, .jsonld, .nt, .rdf). JSON-LD is written expanded, with no @context, so
neither this server nor a reader has a context to fetch.
"""

from collections import OrderedDict
from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ...errors import NotAcceptable, NotFound
from ..extensions import get_store
from ...namespaces import DCT, ID, PREFIXES, RDF, RDFS, SCHEMA, SKOS
from ...sparql.formats import ALIASES, GRAPH_FORMATS, Answer, format_name, serialize
from ...rdf.terms import IRI

bp = Blueprint("linked_data", __name__)

SUFFIXES = {".ttl": "turtle", ".jsonld": "jsonld", ".nt": "ntriples", ".rdf": "rdfxml"}
MEDIA = ["text/html", "application/xhtml+xml", "text/turtle", "application/x-turtle", "application/ld+json",
         "application/json", "application/n-triples", "application/rdf+xml"]
INCOMING_LIMIT = 300
# Properties that name a thing, the most telling first.
LABELS = (SKOS + "prefLabel", RDFS + "label", SCHEMA + "name", DCT + "title")

KNOWN = "ASK { { ?iri ?p ?o } UNION { ?s ?p ?iri } }"

DESCRIPTION = """
CONSTRUCT { ?iri ?p ?o . ?o ?p2 ?o2 }
WHERE { ?iri ?p ?o . OPTIONAL { ?o ?p2 ?o2 FILTER(isBlank(?o)) } }
"""

LABEL_PATH = f"(<{SKOS}prefLabel>|<{RDFS}label>|<{SCHEMA}name>|<{DCT}title>)"

OUTGOING = f"""
SELECT ?p ?o ?pLabel ?oLabel ?oNotation ?oUrl ?p2 ?o2 ?p2Label
WHERE {{
  ?iri ?p ?o .
  OPTIONAL {{ ?p <{RDFS}label> ?pLabel }}
  OPTIONAL {{ ?o {LABEL_PATH} ?oLabel }}
  OPTIONAL {{ ?o <{SKOS}notation> ?oNotation }}
  OPTIONAL {{ ?o <{SCHEMA}url> ?oUrl }}
  OPTIONAL {{ ?o ?p2 ?o2 FILTER(isBlank(?o)) OPTIONAL {{ ?p2 <{RDFS}label> ?p2Label }} }}
}}
"""

INCOMING = f"""
SELECT ?s ?p ?sLabel ?sNotation ?pLabel
WHERE {{
  ?s ?p ?iri .
  OPTIONAL {{ ?s {LABEL_PATH} ?sLabel }}
  OPTIONAL {{ ?s <{SKOS}notation> ?sNotation }}
  OPTIONAL {{ ?p <{RDFS}label> ?pLabel }}
}}
ORDER BY ?p ?s
"""


def compact(iri: str) -> str:
    """prefix:local for the namespaces of the data, else the IRI."""
    best = None
    for prefix, base in PREFIXES.items():
        if iri.startswith(base) and (best is None or len(base) > len(PREFIXES[best])):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else iri


def id_path(iri: str) -> str:
    return "/id/" + quote(iri[len(ID):], safe="/-._~")


def link(iri: str) -> str | None:
    """Where an IRI leads: its /id/ page here, an outside web address as it is; the
    vocabulary's own terms are named, not linked (w3id has no pages for them)."""
    if iri.startswith(ID):
        return id_path(iri)
    if iri.startswith(("http://", "https://")) and not iri.startswith(PREFIXES["cr"]):
        return iri
    return None


def _text(row: dict, key: str):
    term = row.get(key)
    return term["value"] if term else None


def _prefer(current, term):
    """Of two label terms, English or untagged first, then the first met."""
    if term is None:
        return current
    if current is None:
        return term
    good = lambda t: t.get("xml:lang") in (None, "en") or str(t.get("xml:lang", "")).startswith("en")  # noqa: E731
    return term if good(term) and not good(current) else current


# ---------------------------------------------------------------- the resource


def known(store, iri: str) -> bool:
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return store.ask(KNOWN, bindings={"iri": IRI(iri)})


def _error(message: str, status: int):
    return jsonify({"ok": False, "error": message, "status": status}), status


def negotiate() -> str:
    wanted = request.args.get("format")
    if wanted:
        return "html" if wanted.strip().lower() in ("html", "text/html") else format_name(wanted, graph=True)
    if not request.accept_mimetypes:
        return "html"
    best = request.accept_mimetypes.best_match(MEDIA)
    if best is None:
        raise NotAcceptable(f"a resource comes as text/html, {', '.join(GRAPH_FORMATS.values())}; "
                            "the Accept header allows none of them")
    return "html" if best in ("text/html", "application/xhtml+xml") else format_name(ALIASES[best], graph=True)


@bp.get("/id/<path:rest>")
def resource(rest):
    try:
        return _resource(rest)
    except NotAcceptable as err:  # the client asked for no HTML: the JSON error shape
        return _error(err.message, err.status)


def _resource(rest):
    store = get_store()
    iri, fmt = ID + rest, None
    if not known(store, iri):
        suffix = next((s for s in SUFFIXES if rest.endswith(s) and known(store, ID + rest[: -len(s)])), None)
        if suffix is None:
            fmt = negotiate()
            message = f"no resource {iri} in the reference"
            if fmt == "html":
                raise NotFound(message)
            return _error(message, 404)
        iri, fmt = ID + rest[: -len(suffix)], SUFFIXES[suffix]
    fmt = fmt or negotiate()
    if fmt == "html":
        response = Response(render_template("linked_data/resource.html", **describe(store, iri)), mimetype="text/html")
    else:
        triples = store.construct(DESCRIPTION, bindings={"iri": IRI(iri)})
        body, media = serialize(Answer("DESCRIBE", triples=triples), fmt)
        response = Response(body, content_type=media)
    base = id_path(iri)
    response.headers["Link"] = ", ".join(
        f'<{base}{suffix}>; rel="alternate"; type="{GRAPH_FORMATS[name]}"' for suffix, name in SUFFIXES.items())
    response.vary.add("Accept")
    return response


def describe(store, iri: str) -> dict:
    """What the page shows: label, types, properties (grouped), blank nodes, sources, incoming."""
    bindings = {"iri": IRI(iri)}
    cap = current_app.config["RESULT_CAP"]
    properties = OrderedDict()  # predicate IRI -> {"iri", "label", "values": OrderedDict(key -> value)}
    for row in store.select(OUTGOING, bindings=bindings, cap=cap).rows:
        p, o = row["p"]["value"], row["o"]
        prop = properties.setdefault(p, {"iri": p, "name": compact(p), "label": None, "values": OrderedDict()})
        prop["label"] = _prefer(prop["label"], row.get("pLabel"))
        key = (o["type"], o["value"], o.get("datatype"), o.get("xml:lang"))
        value = prop["values"].setdefault(key, {"term": o, "label": None, "notation": None, "url": None,
                                                "inner": OrderedDict()})
        value["label"] = _prefer(value["label"], row.get("oLabel"))
        value["notation"] = value["notation"] or _text(row, "oNotation")
        value["url"] = value["url"] or _text(row, "oUrl")
        if row.get("p2"):
            p2 = row["p2"]["value"]
            inner = value["inner"].setdefault(p2, {"name": compact(p2), "label": None, "values": []})
            inner["label"] = _prefer(inner["label"], row.get("p2Label"))
            if row["o2"] not in inner["values"]:
                inner["values"].append(row["o2"])
    for prop in properties.values():
        prop["values"] = list(prop["values"].values())
    first = (RDF + "type",) + LABELS + (SKOS + "notation",)
    ordered = sorted(properties.values(), key=lambda p: (first.index(p["iri"]) if p["iri"] in first else len(first), p["name"]))

    label = None
    for p in LABELS:
        for value in properties.get(p, {}).get("values", []):
            label = _prefer(label, value["term"])
        if label:
            break
    notation = next((v["term"]["value"] for v in properties.get(SKOS + "notation", {}).get("values", [])), None)
    types = properties.get(RDF + "type", {}).get("values", [])
    sources = properties.get(DCT + "source", {}).get("values", [])

    incoming = OrderedDict()
    answer = store.select(INCOMING, bindings=bindings, cap=INCOMING_LIMIT)
    for row in answer.rows:
        key = (row["s"]["value"], row["p"]["value"])
        entry = incoming.setdefault(key, {"subject": row["s"], "predicate": row["p"]["value"], "name": compact(row["p"]["value"]),
                                         "label": None, "notation": _text(row, "sNotation"), "pLabel": None})
        entry["label"] = _prefer(entry["label"], row.get("sLabel"))
        entry["pLabel"] = _prefer(entry["pLabel"], row.get("pLabel"))

    scheme = iri[len(ID):].split("/", 1)[0]
    return {
        "iri": iri, "path": id_path(iri), "scheme": scheme, "title": label["value"] if label else (notation or iri.rsplit("/", 1)[-1]),
        "notation": notation, "types": types, "sources": sources, "properties": ordered,
        "incoming": list(incoming.values()), "incoming_cut": answer.truncated, "incoming_limit": INCOMING_LIMIT,
        "formats": [(GRAPH_FORMATS[name], name, suffix) for suffix, name in SUFFIXES.items()],
        "compact": compact, "resource_link": link, "code_page": _code_page(iri),
    }


def _code_page(iri: str) -> str | None:
    """The code page of a code, when the pages blueprint offers one."""
    from flask import url_for  # noqa: PLC0415
    from werkzeug.routing import BuildError  # noqa: PLC0415

    scheme, _, notation = iri[len(ID):].partition("/")
    if scheme not in ("cpt", "hcpcs", "icd10cm") or not notation or "/" in notation:
        return None
    try:
        return url_for("pages.code", notation=notation)
    except BuildError:
        return None
