"""Where an engine needs another form than standard SPARQL 1.1: the one table of those differences.

The questions in queries/*.rq are written in the portable subset (queries/README.md), so
most engines need nothing here. What is left is per engine, chosen by the SPARQL_DIALECT
setting ("standard", the default, or "virtuoso"), and read by the remote store and by
`coderef load`, never by a query:

- how its answers differ in shape from the SPARQL 1.1 JSON results (Virtuoso answers an
  ASK in JSON as a one-row SELECT of `__ASK_RETVAL` 1 or 0, and an xsd:boolean as 1 or 0);
- how the default graph becomes the union of the files' graphs when a query names no
  dataset (Oxigraph server: a request parameter; Virtuoso: always so);
- which of our queries it needs in another form: `forms` (the graph list) and, for the
  questions, queries/<dialect>/<question>.rq beside queries/<question>.rq;
- what its default dataset holds: with no FROM, the union of all its graphs, its own system
  graphs too (RDF views, LDP, URIQA: ~2,500 triples in a new database). They are not left
  out: Virtuoso 7.2.5's `define input:default-graph-exclude` pragma makes ASK { GRAPH <g> ... }
  true for an empty graph, and its named-graph twin loses outer variables in OPTIONAL
  filters. The questions name coderef's own terms, so those triples never answer one;
- whether the compiled SHACL shapes can run on it (Virtuoso 7.2.5 crashes, segfault, on the
  coverage-conflict constraint's query: its triples are copied into an in-memory Oxigraph
  store and validated there);
- where and how it takes writes (Virtuoso's public /sparql is read-only: SPARQL Update
  goes to /sparql-auth, Digest-authenticated; it has no default graph to write into, so
  each file goes into a named graph of its own, and its default dataset, no FROM given,
  is the union of all graphs).
"""

import functools
import urllib.parse
from pathlib import Path

from ..errors import ConfigError
from ..rdf.dataset import GRAPH_BASE
from ..rdf.terms import term_json
from ..sparql.dataset import GRAPHS


class Dialect:
    """Standard SPARQL 1.1 Protocol and Update."""

    name = "standard"
    # Writing into the default graph works; else a named graph per file (GRAPH_BASE + stem).
    default_graph_writable = True
    # The shapes compiled to SPARQL run on the endpoint itself; else on a local copy of
    # what this query gives.
    validates_in_place = True
    copy_query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    # The request parameter that makes the default graph the union of the named graphs when
    # a query names no dataset: Oxigraph server reads it (its --union-default-graph flag
    # would also override FROM: measured); None where the default graph is the union already.
    union_parameter = ("union-default-graph", "true")

    # A query of ours (its text) -> the form this engine answers it in; more from
    # queries/<name>/ (`forms_in`).
    forms: dict = {}

    def forms_in(self, queries_dir) -> dict:
        """Each question's form for this engine: queries/<dialect name>/<id>.rq beside
        queries/<id>.rq, keyed by the question's query (comments and spacing aside), with
        the forms of our own queries; ConfigError for a form with no question."""
        forms = {query_key(q): f for q, f in self.forms.items()}
        folder = Path(queries_dir) / self.name
        for path in sorted(folder.glob("*.rq")) if folder.is_dir() else ():
            question = Path(queries_dir) / path.name
            if not question.is_file():
                raise ConfigError(f"{path}: {self.name}'s form of a question that is not there ({question})")
            forms[query_key(question.read_text(encoding="utf-8"))] = path.read_text(encoding="utf-8")
        return forms

    def ask_value(self, answer: dict) -> bool:
        return bool(answer.get("boolean"))

    def term(self, term: dict) -> dict:
        """A SPARQL JSON term of the endpoint's answer as every store answers (rdf.terms)."""
        return term_json(term)

    def update_url(self, endpoint: str) -> str | None:
        """Where SPARQL Update goes when no --update URL is given; None: the caller's default."""
        return None


class Virtuoso(Dialect):
    """Virtuoso Open Source 7.2."""

    name = "virtuoso"
    default_graph_writable = False
    validates_in_place = False
    union_parameter = None
    # `GRAPH ?graph { }` binds no graph in Virtuoso 7.2.5 (one row, ?graph unbound): it
    # enumerates the graphs that hold a triple, the reference's only (not the system graphs).
    forms = {GRAPHS: "SELECT DISTINCT ?graph WHERE { GRAPH ?graph { ?s ?p ?o } "
                     f"FILTER(STRSTARTS(STR(?graph), \"{GRAPH_BASE}\")) }} ORDER BY ?graph"}
    # The reference's graphs only (every file went into one under GRAPH_BASE), not the system ones.
    copy_query = ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
                  f"FILTER(STRSTARTS(STR(?g), \"{GRAPH_BASE}\")) }}")

    def ask_value(self, answer: dict) -> bool:
        if "boolean" in answer:
            return bool(answer["boolean"])
        rows = answer.get("results", {}).get("bindings", [])
        value = rows[0].get("__ASK_RETVAL", {}).get("value") if rows else None
        return value in ("1", "true")

    def term(self, term: dict) -> dict:
        out = term_json(term)
        if out.get("datatype") == BOOLEAN and out["value"] in ("1", "0"):
            out["value"] = "true" if out["value"] == "1" else "false"  # the canonical form
        return out

    def update_url(self, endpoint: str) -> str | None:
        parts = urllib.parse.urlsplit(endpoint)
        if not parts.path.endswith("/sparql"):
            return None
        return urllib.parse.urlunsplit(parts._replace(path=parts.path + "-auth", query=""))


@functools.lru_cache(maxsize=1024)
def query_key(text: str) -> str:
    """A query's text without comments (the question header too) or spacing: what a form is
    found by, whichever of the two the caller holds. Cached: the remote store asks it of
    every query it sends, and the same questions come again and again."""
    lines = (line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return " ".join(" ".join(lines).split())


BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
DIALECTS = {d.name: d for d in (Dialect(), Virtuoso())}


def dialect_of(settings: dict) -> Dialect:
    """The dialect SPARQL_DIALECT names; ConfigError naming the known ones otherwise."""
    name = (settings.get("SPARQL_DIALECT") or "standard").strip().lower()
    if name not in DIALECTS:
        raise ConfigError(f"SPARQL_DIALECT is {name!r}; use one of {', '.join(DIALECTS)}")
    return DIALECTS[name]

