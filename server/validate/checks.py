"""Compiled checks and their results: what a shape becomes, and the rows it gives back as results.

A `Check` is one top-level shape (or one of its SHACL-SPARQL constraints) as one SELECT;
results come back as `Raw` tuples of rdflib terms, the same fields pySHACL puts in its
results graph, so that one function turns both engines' output into the report.
"""

import re
from dataclasses import dataclass, field

import rdflib

from ..rdf.terms import rdflib_sparql
from ..rdf.terms import to_rdflib as _to_rdflib
from .vocabulary import from_written

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class Unsupported(Exception):
    """The shape uses something the compiler does not translate (the message says what)."""


@dataclass
class Check:
    """One top-level shape (or one of its SHACL-SPARQL constraints) as one SELECT."""

    shape: rdflib.term.Node
    severity: rdflib.URIRef
    query: str
    messages: list = field(default_factory=list)  # sh:message literals of the shape
    extra_messages: list = field(default_factory=list)  # of the SPARQL constraint
    path: rdflib.term.Node | None = None
    is_property: bool = False
    sparql: bool = False
    projects_this: bool = True
    label: str = ""
    # a check of constraints of several shapes on the same focus nodes: row flag ?_fN
    # true means the constraint of focus_tests[N] (its shape, path, messages) failed
    focus_tests: list = field(default_factory=list)
    # the constraint component of every result (a SHACL-SPARQL check, a focus test), or
    # per ?_k of a SHACL Core check: {k: (component, default message)}
    component: rdflib.URIRef | None = None
    components: dict = field(default_factory=dict)
    # the parameters of a SPARQL-based constraint component, for its messages' {$name}
    fixed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Raw:
    """One validation result, as pySHACL's results graph states it."""

    focus: rdflib.term.Node
    path: rdflib.term.Node | None
    value: rdflib.term.Node | None
    shape: rdflib.term.Node
    severity: rdflib.URIRef
    messages: tuple
    component: rdflib.URIRef | None = None


def to_rdflib(term: dict):
    """A SPARQL JSON term of a result as rdflib's, the literal as the store gives it (rdflib
    would read "none"^^xsd:boolean as false) and an as-written one with its XSD datatype."""
    if term["type"] == "literal" and term.get("datatype"):
        datatype = None if term["datatype"] == XSD_STRING else rdflib.URIRef(term["datatype"])
        return from_written(rdflib.Literal(term["value"], datatype=datatype, normalize=False))
    return _to_rdflib(term)


def to_sparql(term) -> str:
    """An rdflib term as SPARQL text, serialized by pyoxigraph (escaped, never pasted);
    Unsupported for a blank node, which no query can name."""
    try:
        return rdflib_sparql(term)
    except ValueError as err:
        raise Unsupported(str(err)) from None


@dataclass(frozen=True)
class FocusTest:
    check: Check  # the shape's fields, for its results
    fails: str  # a boolean expression on ?this


def _format(message: str, bound: dict) -> str:
    """pySHACL's substitution of {?var} and {$var}, kept byte for byte (re.sub included)."""
    for var, val in bound.items():
        message = re.sub("{{[?$]{}}}".format(var), str(val), message)
    return message


def run_check(check: Check, select) -> list[Raw]:
    """Run one check through `select(query) -> rows of SPARQL JSON terms`."""
    rows = select(check.query)
    out = []
    if check.focus_tests:
        for row in rows:
            focus = to_rdflib(row["this"])
            for n, test in enumerate(check.focus_tests):
                flag = row.get(f"_f{n}")
                if flag is not None and flag["value"] in ("true", "1"):
                    out.append(Raw(focus, test.path, None, test.shape, test.severity,
                                   tuple(str(m) for m in test.messages), test.component))
        return out
    if not check.sparql:
        for row in rows:
            focus = to_rdflib(row["this"])
            value = to_rdflib(row["value"]) if "value" in row else None
            made, default = check.components.get(int(row["_k"]["value"]), (None, "")) if "_k" in row else (None, "")
            messages = tuple(str(m) for m in check.messages) or ((default,) if default else ())
            path = to_rdflib(row["_path"]) if "_path" in row else check.path  # sh:closed: the predicate
            out.append(Raw(focus, path, value, check.shape, check.severity, messages, made))
        return out
    seen = set()
    for row in rows:
        bound = {k: to_rdflib(v) for k, v in row.items()}
        focus = bound.pop("this")
        t = focus if check.projects_this else None
        p = bound.pop("path", None)
        v = bound.pop("value", None)
        key = (focus, p, v, frozenset(bound.items()))
        if key in seen:
            continue
        seen.add(key)
        if v is None and not check.is_property:
            v = focus
        fdict = {**check.fixed, **bound}
        for name, term in (("this", t), ("path", p), ("value", v)):
            if term is not None:
                fdict[name] = term
        texts = [_format(str(m), fdict) for m in (*check.messages, *[m for m in check.extra_messages
                                                                      if m not in check.messages])]
        out.append(Raw(focus, p if p is not None else check.path, v, check.shape, check.severity, tuple(texts),
                       check.component))
    return out
