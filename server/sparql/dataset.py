"""Which graphs a query reads: the union by default, or the dataset its request or its FROM names.

The store holds one named graph per data file (server/rdf/dataset.py). A query that names
no dataset reads their union; the SPARQL Protocol's `default-graph-uri` / `named-graph-uri`
(which override the query's own FROM / FROM NAMED, as the Protocol says) or the query's
FROM clauses name graphs of the store only. A name the store does not hold is an empty
graph: Oxigraph never fetches a graph, and nothing here does either.
"""

from typing import NamedTuple

import pyoxigraph as ox

from ..errors import BadRequest
from .text import tokens


class Dataset(NamedTuple):
    """The graphs a request names: the default graph's parts, and the named graphs."""

    default: tuple = ()
    named: tuple = ()

    @classmethod
    def from_params(cls, params: dict) -> "Dataset | None":
        """The Protocol's dataset parameters, or None when the request gives none; a value
        that is not an absolute IRI is a 400 naming the parameter."""
        default = tuple(params.get("default-graph-uri") or ())
        named = tuple(params.get("named-graph-uri") or ())
        if not default and not named:
            return None
        for name, values in (("default-graph-uri", default), ("named-graph-uri", named)):
            for value in values:
                try:
                    ox.NamedNode(value)
                except ValueError:
                    raise BadRequest(f"{name} must be an absolute IRI, not {value!r}") from None
        return cls(default, named)


# The store's named graphs (one per data file), for the service description and `coderef load`.
GRAPHS = "SELECT DISTINCT ?graph WHERE { GRAPH ?graph { } } ORDER BY ?graph"


def declares_dataset(query: str) -> bool:
    """Whether the query text has a FROM or FROM NAMED clause (a keyword only they use)."""
    return any(kind == "word" and value.upper() == "FROM" for kind, value, _, _ in tokens(query))


def without_dataset(query: str) -> str:
    """The query with its FROM and FROM NAMED clauses taken out: what an endpoint is sent
    with the Protocol's graph parameters, which override them (SPARQL 1.1 Protocol 2.1.4;
    Virtuoso 7.2.5 would read both: measured)."""
    toks = list(tokens(query))
    cut = []
    for i, (kind, value, start, _) in enumerate(toks):
        if kind == "word" and value.upper() == "FROM":
            j = i + 1
            if j < len(toks) and toks[j][0] == "word" and toks[j][1].upper() == "NAMED":
                j += 1
            if j < len(toks) and toks[j][0] in ("iri", "word"):
                cut.append((start, toks[j][3]))
    for start, end in reversed(cut):
        query = query[:start] + " " + query[end:]
    return query


def oxigraph_options(query: str, dataset: "Dataset | None") -> dict:
    """pyoxigraph `Store.query` keywords: the Protocol's dataset when given; else the query's
    own FROM (which Oxigraph's union option would ignore: measured); else the union of the
    store's graphs."""
    if dataset is not None:
        return {"default_graph": [ox.NamedNode(v) for v in dataset.default],
                "named_graphs": [ox.NamedNode(v) for v in dataset.named]}
    if declares_dataset(query):
        return {}
    return {"use_default_graph_as_union": True}


def query(store: ox.Store, text: str, **options):
    """`store.query` over the union of its graphs: for the whole-graph reports, which run
    on the raw pyoxigraph store."""
    return store.query(text, **oxigraph_options(text, None), **options)
