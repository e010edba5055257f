"""The conformance gate: data that breaks a shape is refused with the shape, node and file named.

A reload, `coderef reload` and every build made for `coderef serve` take only data that
conforms to shapes/: a violation (never a warning or a note) keeps the last good graph.
"""

from pathlib import Path

import pyoxigraph as ox

from ..errors import DataError, NotConforming
from ..rdf.parsing import rdf_format
from ..store.oxigraph import OxigraphStore
from .engine import validate

SHOWN_VIOLATIONS = 3  # in a message; `coderef validate` gives the full report


def check_conformance(store: ox.Store, shapes, paths=(), progress=None) -> None:
    """Raise NotConforming naming shape, focus node and file of the first violations when
    the graph in `store` (ontology and data) breaks one of `shapes`. No shapes: nothing to
    break."""
    shapes = list(shapes)
    if not shapes:
        return
    report = validate(shape_paths=shapes, store=OxigraphStore(store), progress=progress, written=paths)
    violations = [r for r in report.results if r["severity"] == "Violation"]
    if not violations:
        return
    shown = violations[:SHOWN_VIOLATIONS]
    where = _files_stating(paths, {r["focus"] for r in shown})
    parts = []
    for r in shown:
        files = ", ".join(where.get(r["focus"], [])) or "file unknown"
        shape = r["shape"].rsplit("#", 1)[-1] if r["shape"] else r["shape_label"]
        parts.append(f"{files}: <{r['focus']}> breaks {shape}: {r['message'].rstrip('. ')}")
    more = len(violations) - len(shown)
    count = f"{len(violations)} violation" + ("" if len(violations) == 1 else "s")
    raise NotConforming(f"the data does not conform to the shapes ({count}): " + "; ".join(parts)
                        + (f"; and {more} more" if more else "") + ". Run `coderef validate` for the full report.")


def _files_stating(paths, focus_iris) -> dict:
    """{focus IRI: [files with a triple about it]}, as folder/name. Read again only to word
    a refusal, so the load itself keeps no per-file index."""
    wanted = set()
    for iri in focus_iris:
        try:
            wanted.add(ox.NamedNode(iri))
        except ValueError:  # a blank node: no name to look for
            continue
    found: dict = {}
    for path in map(Path, paths):
        try:
            quads = ox.parse(path=str(path), format=rdf_format(path))
            subjects = {q.subject for q in quads if q.subject in wanted}
        except (SyntaxError, OSError, DataError):
            continue
        for subject in subjects:
            found.setdefault(subject.value, []).append(f"{path.parent.name}/{path.name}")
    return found
