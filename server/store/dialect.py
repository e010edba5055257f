"""Where an engine needs another form than standard SPARQL 1.1: the one table of those differences.

The questions in queries/*.rq are written in the portable subset (queries/README.md), so
most engines need nothing here. What is left is per engine, chosen by the SPARQL_DIALECT
setting ("standard", the default, or "virtuoso"), and read by the remote store and by
`coderef load`, never by a query:

- how its answers differ in shape from the SPARQL 1.1 JSON results (Virtuoso answers an
  ASK in JSON as a one-row SELECT of `__ASK_RETVAL` 1 or 0);
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

import urllib.parse

from ..errors import ConfigError

GRAPH_BASE = "https://w3id.org/coderef/graph/"


class Dialect:
    """Standard SPARQL 1.1 Protocol and Update."""

    name = "standard"
    # Writing into the default graph works; else a named graph per file (GRAPH_BASE + stem).
    default_graph_writable = True
    # The shapes compiled to SPARQL run on the endpoint itself; else on a local copy of
    # what this query gives.
    validates_in_place = True
    copy_query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"

    def ask_value(self, answer: dict) -> bool:
        return bool(answer.get("boolean"))

    def update_url(self, endpoint: str) -> str | None:
        """Where SPARQL Update goes when no --update URL is given; None: the caller's default."""
        return None


class Virtuoso(Dialect):
    """Virtuoso Open Source 7.2."""

    name = "virtuoso"
    default_graph_writable = False
    validates_in_place = False
    # The reference's graphs only (every file went into one under GRAPH_BASE), not the system ones.
    copy_query = ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
                  f"FILTER(STRSTARTS(STR(?g), \"{GRAPH_BASE}\")) }}")

    def ask_value(self, answer: dict) -> bool:
        if "boolean" in answer:
            return bool(answer["boolean"])
        rows = answer.get("results", {}).get("bindings", [])
        value = rows[0].get("__ASK_RETVAL", {}).get("value") if rows else None
        return value in ("1", "true")

    def update_url(self, endpoint: str) -> str | None:
        parts = urllib.parse.urlsplit(endpoint)
        if not parts.path.endswith("/sparql"):
            return None
        return urllib.parse.urlunsplit(parts._replace(path=parts.path + "-auth", query=""))


DIALECTS = {d.name: d for d in (Dialect(), Virtuoso())}


def dialect_of(settings: dict) -> Dialect:
    """The dialect SPARQL_DIALECT names; ConfigError naming the known ones otherwise."""
    name = (settings.get("SPARQL_DIALECT") or "standard").strip().lower()
    if name not in DIALECTS:
        raise ConfigError(f"SPARQL_DIALECT is {name!r}; use one of {', '.join(DIALECTS)}")
    return DIALECTS[name]


def file_graph(stem: str) -> str:
    """The named graph a data file's triples go into where the default graph takes no writes."""
    return GRAPH_BASE + urllib.parse.quote(stem, safe="-._~")
