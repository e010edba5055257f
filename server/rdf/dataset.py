"""The dataset's shape: one named graph per data file, the default graph their union.

Each file's triples go into `https://w3id.org/coderef/graph/<file stem>`, so "which file
says this" is a question (`GRAPH ?g { ... }`), and a SPARQL Protocol request or a FROM
clause can name a file's graph. Queries that name no graph see the union.

Oxigraph's union default graph is a union of quads, not an RDF merge: a triple held by
two graphs is matched twice (measured: COUNT(*) 2 for one triple in two graphs). So a
triple is held by one graph only, the first file's in load order; `drop_repeats` takes
the later copies out after loading and says which files repeated which (the bench's
generated ICD-10-CM data repeats 2,018 triples of data/icd10cm-indications.ttl).
"""

import logging
from pathlib import Path

import pyoxigraph as ox

GRAPH_BASE = "https://w3id.org/coderef/graph/"

log = logging.getLogger(__name__)


def graph_names(paths) -> dict[Path, ox.NamedNode]:
    """Each file's graph: its stem under GRAPH_BASE; a stem met before is prefixed with the
    file's folder (data/x.ttl and modules/x.ttl are graph/x and graph/modules-x)."""
    names, taken = {}, set()
    for path in map(Path, paths):
        name = path.stem
        if name in taken:
            name = f"{path.parent.name}-{path.stem}"
        n = 2
        while name in taken:  # the same stem in two folders of the same name
            name = f"{path.parent.name}-{path.stem}-{n}"
            n += 1
        taken.add(name)
        names[path] = ox.NamedNode(GRAPH_BASE + name)
    return names


def in_graph(quads, graph: ox.NamedNode):
    """A file's quads moved into its graph (a TriG or N-Quads file's own named graphs stay)."""
    for q in quads:
        if isinstance(q.graph_name, ox.DefaultGraph):
            yield ox.Quad(q.subject, q.predicate, q.object, graph)
        else:
            yield q


def drop_repeats(store: ox.Store, graphs: list[ox.NamedNode], sizes: list[int]) -> list[dict]:
    """Take out of `store` every triple a later graph (in `graphs` order) repeats from an
    earlier one; returns {"kept in", "repeated by", "triples"} per pair of graphs found.

    Each graph but the largest (by `sizes`) is read and each of its triples looked up in the
    others, so the cost follows the smaller files (the shipped data: ~9k lookups, whatever
    the size of a module)."""
    if len(graphs) < 2:
        return []
    order = {g: i for i, g in enumerate(graphs)}
    largest = graphs[max(range(len(graphs)), key=lambda i: sizes[i])]
    # A repeated triple is in two graphs, at most one of them the largest: reading the others
    # finds every one.
    later_copies = {}
    for graph in graphs:
        if graph == largest:
            continue
        for quad in store.quads_for_pattern(None, None, None, graph):
            holders = sorted((q.graph_name for q in store.quads_for_pattern(quad.subject, quad.predicate, quad.object)
                              if q.graph_name in order), key=order.__getitem__)
            for other in holders[1:]:
                later_copies[ox.Quad(quad.subject, quad.predicate, quad.object, other)] = holders[0]
    pairs = {}
    for quad, first in later_copies.items():
        store.remove(quad)
        key = (first.value, quad.graph_name.value)
        pairs[key] = pairs.get(key, 0) + 1
    found = [{"kept in": kept, "repeated by": by, "triples": n} for (kept, by), n in sorted(pairs.items())]
    for pair in found:
        log.info("%d triples of %s are already in %s: kept there only", pair["triples"], pair["repeated by"], pair["kept in"])
    return found
