"""Literals the store does not keep as written: found in the data files before the fast path trusts the store.

Oxigraph stores a literal of a type derived from xsd:integer ("5"^^xsd:int, "300"^^xsd:byte,
"-3"^^xsd:positiveInteger) as an xsd:integer, and an xsd:dateTimeStamp as an xsd:dateTime:
sh:datatype on the store would then fail valid data and pass ill-typed data. Such data is
validated by pySHACL, on the literals as written. Reading every file in Python costs ~1.5 s
a million triples, so a file is first searched as bytes for these datatypes; only a file
that may have one (or that is not Turtle-like text) is parsed.
"""

import re
from pathlib import Path

import pyoxigraph as ox

from ..rdf.parsing import rdf_format

XSD = "http://www.w3.org/2001/XMLSchema#"
RETYPED = (
    "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
    "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "dateTimeStamp",
)
_NAMES = {XSD + name for name in RETYPED}
# In the text formats a datatype follows "^^", as <...#int> or a prefixed name ending in
# :int; searched from the "^^" (a literal prefix, so the search is fast: 0.08 s for 48 MB).
# A false hit (the text inside a string literal) only costs a parse. Not caught: a datatype
# name written with a \u escape.
_NAMES_RE = b"|".join(name.encode() for name in RETYPED)
_MAYBE = re.compile(rb"\^\^(?:<[^>]*(?:" + _NAMES_RE + rb")>|[^\s<>;,)\]]*(?:" + _NAMES_RE + rb")(?![\w-]))")
_SCANNED = (".ttl", ".nt", ".nq", ".trig")


def retyped_literals(files) -> dict:
    """{datatype IRI: file} of the literals of the files whose datatype the store would change."""
    found = {}
    for path in map(Path, files):
        if path.suffix.lower() in _SCANNED and not _MAYBE.search(path.read_bytes()):
            continue
        for quad in ox.parse(path=str(path), format=rdf_format(path)):
            o = quad.object
            if isinstance(o, ox.Literal) and o.datatype.value in _NAMES:
                found.setdefault(o.datatype.value, path)
    return found


def reason(found: dict) -> str:
    names = ", ".join(f"xsd:{iri[len(XSD):]} ({Path(path).name})" for iri, path in sorted(found.items()))
    return (f"the data has literals typed {names}, which the store keeps as xsd:integer or xsd:dateTime: "
            "checked as written by pySHACL")
