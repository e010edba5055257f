"""The few rdflib.Graph look-ups a validation report needs, answered by SELECTs on a store."""

import rdflib

from ..rdf.terms import to_rdflib
from .checks import to_sparql


class StoreGraph:
    """The few rdflib.Graph look-ups the report needs (which code a result is about, which
    member of an alternative path holds a value), answered by SELECTs on a store, so that
    remote data is never downloaded. A node's edges are fetched once each way, many
    nodes to a query. Blank nodes cannot be named across queries: they have no edges here."""

    BATCH = 200

    def __init__(self, store):
        self.store = store
        self.out = {}  # node -> {predicate: [objects]}
        self.into = {}  # node -> {predicate: [subjects]}

    def prefetch(self, nodes, incoming=True):
        """Fetch the nodes' outgoing edges, and with `incoming` the edges into them too
        (a code has many: ask for them only where they are followed)."""
        self._fetch(nodes, self.out, "SELECT ?n ?p ?o WHERE {{ {} ?n ?p ?o }}")
        if incoming:
            self._fetch(nodes, self.into, "SELECT ?n ?p ?o WHERE {{ {} ?o ?p ?n }}")

    def _fetch(self, nodes, edges, query):
        nodes = sorted({n for n in nodes if isinstance(n, rdflib.URIRef) and n not in edges}, key=str)
        for i in range(0, len(nodes), self.BATCH):
            chunk = nodes[i:i + self.BATCH]
            for n in chunk:
                edges[n] = {}
            values = "VALUES ?n { " + " ".join(to_sparql(n) for n in chunk) + " }"
            for row in self._rows(query.format(values)):
                edges[to_rdflib(row["n"])].setdefault(to_rdflib(row["p"]), []).append(to_rdflib(row["o"]))

    def _rows(self, query):
        return self.store.select(query, cap=10**9).rows

    def objects(self, s, p):
        if not isinstance(s, rdflib.URIRef):
            return []
        if s not in self.out:
            self.prefetch([s], incoming=False)
        return list(self.out[s].get(p, []))

    def subjects(self, p, o):
        if not isinstance(o, rdflib.URIRef):
            return []
        if o not in self.into:
            self._fetch([o], self.into, "SELECT ?n ?p ?o WHERE {{ {} ?o ?p ?n }}")
        return list(self.into[o].get(p, []))

    def value(self, s, p):
        found = self.objects(s, p)
        return found[0] if found else None

    def transitive_subjects(self, p, o):
        # a path takes no variable: predicate and object are written as serialized IRIs
        rows = self._rows(f"SELECT DISTINCT ?s WHERE {{ ?s {to_sparql(p)}* {to_sparql(o)} }}")
        return [to_rdflib(r["s"]) for r in rows if "s" in r]

    def __contains__(self, triple):
        s, p, o = triple
        return o in self.objects(s, p)
