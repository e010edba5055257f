"""Literals the store does not keep as written: loaded under datatypes of ours, and found again for the report.

Oxigraph stores a literal of a type derived from xsd:integer ("5"^^xsd:int, "300"^^xsd:byte,
"-3"^^xsd:positiveInteger) as an xsd:integer, and an xsd:dateTimeStamp as an xsd:dateTime:
sh:datatype on the store would then fail valid data and pass ill-typed data. `load_store`
loads such literals under AS_WRITTEN + the XSD name (server/validate/vocabulary.py), which
the store keeps as written, and the compiler reads them so. Reading every file in Python
costs ~1.5 s a million triples, so a file is first searched as bytes for these datatypes;
only a file that may have one (or that is not Turtle-like text) is parsed in Python, the
others are loaded inside Oxigraph.

The store also keeps valid numbers and dates by value ("4.0"^^xsd:decimal as "4"):
`as_written` puts back, in results, the form a literal has in the files.
"""

import re
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox

from ..errors import DataError
from ..rdf.parsing import base_iri, parse_file, rdf_format
from ..rdf.terms import canonical
from .vocabulary import RETYPED, written_literal

XSD = "http://www.w3.org/2001/XMLSchema#"
_NAMES = {XSD + name for name in RETYPED}
# In the text formats a datatype follows "^^", as <...#int> or a prefixed name ending in
# :int; searched from the "^^" (a literal prefix, so the search is fast: 0.08 s for 48 MB).
# A false hit (the text inside a string literal) only costs a parse. Not caught: a datatype
# name written with a \u escape.
_NAMES_RE = b"|".join(name.encode() for name in RETYPED)
_MAYBE = re.compile(rb"\^\^(?:<[^>]*(?:" + _NAMES_RE + rb")>|[^\s<>;,)\]]*(?:" + _NAMES_RE + rb")(?![\w-]))")
# "1"^^xsd:boolean (any other form than true and false), however the type is written
_BOOLEAN = re.compile(rb"[\"']\s*[01]\s*[\"']\^\^(?:<[^>]*boolean>|[^\s<>;,)\]]*:boolean(?![\w-]))")
_SCANNED = (".ttl", ".nt", ".nq", ".trig")


def _maybe(path: Path) -> bool:
    if path.suffix.lower() not in _SCANNED:
        return True
    text = path.read_bytes()
    return bool(_MAYBE.search(text) or _BOOLEAN.search(text))


def load_store(files, progress=None) -> tuple[ox.Store, dict]:
    """A new in-memory store of the files, literals of the datatypes the store would change
    under ours; and {datatype IRI: first file} of those found."""
    store, found = ox.Store(), {}
    files = list(map(Path, files))
    for n, path in enumerate(files, 1):
        if not path.is_file():
            raise DataError(path, None, "no such file")
        if not _maybe(path):
            try:
                store.bulk_load(path=str(path), format=rdf_format(path), base_iri=base_iri(path))
            except (SyntaxError, UnicodeDecodeError, OSError):
                parse_file(path)  # raises the DataError naming the line
                raise
        else:
            quads = parse_file(path)  # DataError naming the line
            for i, quad in enumerate(quads):
                o = quad.object
                ours = written_literal(o.datatype.value, o.value) if isinstance(o, ox.Literal) else None
                if ours is not None:
                    found.setdefault(o.datatype.value, path)
                    quads[i] = ox.Quad(quad.subject, quad.predicate, ox.Literal(o.value, datatype=ox.NamedNode(ours)),
                                       quad.graph_name)
            store.bulk_extend(quads)
        if progress:
            progress(n, len(files), path)
    return store, found


def retyped_literals(files) -> dict:
    """{datatype IRI: first file} of the literals of the files that a store loaded without
    load_store (the conformance gate's) keeps in another form."""
    found = {}
    for path in map(Path, files):
        if path.is_file() and _maybe(path):
            for quad in parse_file(path):
                o = quad.object
                if isinstance(o, ox.Literal) and written_literal(o.datatype.value, o.value) is not None:
                    found.setdefault(o.datatype.value, path)
    return found


def as_written(raws, files, extra=()) -> list:
    """Raw results with literals the store changed ("4"^^xsd:decimal) put back as the files
    (or `extra`, literals of the shapes) write them, where one form in the files has that
    value. The files are read again only when a result has such a literal."""
    import rdflib  # noqa: PLC0415

    def changeable(term):
        return isinstance(term, rdflib.Literal) and term.datatype is not None and not term.language \
            and str(term.datatype).startswith(XSD) and str(term.datatype) != XSD + "string"

    wanted = {t for raw in raws for t in (raw.focus, raw.value) if changeable(t)}
    if not wanted:
        return raws
    forms: dict = {}
    for lit in extra:
        if changeable(lit):
            forms.setdefault(canonical(lit), set()).add(lit)
    for path in map(Path, files):
        for quad in ox.parse(path=str(path), format=rdf_format(path), base_iri=base_iri(path)):
            o = quad.object
            if isinstance(o, ox.Literal) and o.datatype.value.startswith(XSD) and not o.language:
                lit = rdflib.Literal(o.value, datatype=rdflib.URIRef(o.datatype.value), normalize=False)
                if canonical(lit) in wanted:
                    forms.setdefault(canonical(lit), set()).add(lit)

    def written(term):
        found = forms.get(term) if changeable(term) else None
        return next(iter(found)) if found and len(found) == 1 else term

    return [replace(raw, focus=written(raw.focus), value=written(raw.value)) for raw in raws]


def reason(found: dict) -> str:
    names = ", ".join(f"xsd:{iri[len(XSD):]} ({Path(path).name})" for iri, path in sorted(found.items()))
    return (f"the data has literals typed {names}, which the store keeps as xsd:integer or xsd:dateTime: "
            "loaded as written, so SHACL-SPARQL queries (which would read them so) are checked by pySHACL")
