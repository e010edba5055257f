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
        # node -> (the predicates fetched, None for all; {predicate: [objects]})
        self.out = {}
        self.into = {}  # node -> (predicates, {predicate: [subjects]})

    def prefetch(self, nodes, incoming=True, out=None, into=None):
        """Fetch the nodes' outgoing edges, and with `incoming` the edges into them too
        (a code has many: ask for them only where they are followed); `out` / `into`, the
        only predicates to fetch (the others are fetched when asked for). At 1M triples
        with 55k results, all edges of every node took 24 s of a 150 s validation."""
        self._fetch(nodes, self.out, "SELECT ?n ?p ?o WHERE {{ {} ?n ?p ?o }}", out)
        if incoming:
            self._fetch(nodes, self.into, "SELECT ?n ?p ?o WHERE {{ {} ?o ?p ?n }}", into)

    def _fetch(self, nodes, edges, query, predicates=None):
        wanted = None if predicates is None else frozenset(predicates)
        nodes = sorted({n for n in nodes if isinstance(n, rdflib.URIRef) and not self._has(edges, n, wanted)}, key=str)
        restrict = "" if wanted is None else " VALUES ?p { " + " ".join(to_sparql(p) for p in sorted(wanted)) + " }"
        for i in range(0, len(nodes), self.BATCH):
            chunk = nodes[i:i + self.BATCH]
            found = {}
            for n in chunk:
                found[n] = {}
                edges[n] = (wanted, found[n])
            values = "VALUES ?n { " + " ".join(to_sparql(n) for n in chunk) + " }" + restrict
            for row in self._rows(query.format(values)):
                found[to_rdflib(row["n"])].setdefault(to_rdflib(row["p"]), []).append(to_rdflib(row["o"]))

    @staticmethod
    def _has(edges, node, wanted) -> bool:
        """Whether the node's edges with these predicates (None: all) are fetched already."""
        if node not in edges:
            return False
        have = edges[node][0]
        return have is None or (wanted is not None and wanted <= have)

    def _rows(self, query):
        return self.store.select(query, cap=10**9).rows

    def objects(self, s, p):
        if not isinstance(s, rdflib.URIRef):
            return []
        if not self._has(self.out, s, {p}):
            self._fetch([s], self.out, "SELECT ?n ?p ?o WHERE {{ {} ?n ?p ?o }}")
        return list(self.out[s][1].get(p, []))

    def subjects(self, p, o):
        if not isinstance(o, rdflib.URIRef):
            return []
        if not self._has(self.into, o, {p}):
            self._fetch([o], self.into, "SELECT ?n ?p ?o WHERE {{ {} ?o ?p ?n }}")
        return list(self.into[o][1].get(p, []))

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
