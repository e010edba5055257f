"""A SELECT's final ORDER BY, applied in Python to the rows the engine gives unordered.

Oxigraph's ORDER BY on a persisted (RocksDB) store reads the text of both values from the
store's dictionary at every comparison. Measured at 1M triples on the `sources` question
(178 rows, four keys): 21.6 ms with the ORDER BY, 13.8 ms without, 0.2 ms to sort the rows
here. So the embedded store runs a question without its ORDER BY and sorts the rows itself,
where it can do so exactly as Oxigraph would:

- the clause is the query's last, and orders by projected variables only (`?v`, `ASC(?v)`,
  `DESC(?v)`): no expression, no LIMIT or OFFSET after it (those would change which rows
  come back, not only their order);
- every value of an ordered column is of a kind whose order SPARQL fixes or Oxigraph gives
  by value: unbound, then IRIs by code point, then literals: either all strings (xsd:string
  or language-tagged, by code point of their text, no two with the same text and another
  tag) or all xsd:integer (by number). Blank nodes and other literals (dates, decimals,
  mixed kinds) leave the order to the engine: `sort` answers None and the query is run as
  written.

Rows whose keys tie may come in another order than the engine's; SPARQL leaves that order
open (and Oxigraph's own sort is not stable either). tests/sparql/test_ordering.py checks the
order against Oxigraph's on random columns and on every question.
"""

import functools
import re

import pyoxigraph as ox

from ..namespaces import XSD
from .text import tokens

XSD_STRING, XSD_INTEGER = XSD + "string", XSD + "integer"
_INTEGER = re.compile(r"[+-]?[0-9]+")


@functools.lru_cache(maxsize=256)
def split(query: str):
    """(the query without its final ORDER BY, ((variable, descending), ...)) when the
    clause orders by variables only and ends the query; else None."""
    toks = list(tokens(query))
    depth, start = 0, None
    for i, (_, value, _, _) in enumerate(toks):
        if value == "{":
            depth += 1
        elif value == "}":
            depth -= 1
        elif (depth == 0 and value.upper() == "ORDER" and i + 1 < len(toks)
              and toks[i + 1][1].upper() == "BY"):
            start = i
    if start is None:
        return None
    keys, i = [], start + 2
    while i < len(toks):
        kind, value = toks[i][0], toks[i][1].upper()
        if kind == "var":
            keys.append((toks[i][1][1:], False))
            i += 1
        elif (value in ("ASC", "DESC") and i + 3 < len(toks) and toks[i + 1][1] == "("
              and toks[i + 2][0] == "var" and toks[i + 3][1] == ")"):
            keys.append((toks[i + 2][1][1:], value == "DESC"))
            i += 4
        else:
            return None  # an expression, LIMIT, OFFSET, VALUES...: the engine orders
    if not keys:
        return None
    return query[: toks[start][2]], tuple(keys)


def _column_key(values):
    """A function giving each value of one column its sort key, or None when the column
    holds a value whose place in Oxigraph's order is not reproduced here."""
    literal_kind = None
    tags = {}  # text -> (language, datatype) of the string literals seen
    for value in values:
        if value is None or isinstance(value, ox.NamedNode):
            continue
        if not isinstance(value, ox.Literal):
            return None  # a blank node: Oxigraph orders those by internal id
        if value.language or value.datatype.value == XSD_STRING:
            kind = "string"
            tag = (value.language, value.datatype.value)
            if tags.setdefault(value.value, tag) != tag:
                return None  # "a" and "a"@en: a tie broken by rules not reproduced here
        elif value.datatype.value == XSD_INTEGER and _INTEGER.fullmatch(value.value):
            kind = "integer"
        else:
            return None
        if literal_kind not in (None, kind):
            return None  # strings beside numbers: engine-defined
        literal_kind = kind
    as_number = literal_kind == "integer"

    def key(value):
        if value is None:
            return (0, "")
        if isinstance(value, ox.NamedNode):
            return (1, value.value)
        return (2, int(value.value) if as_number else value.value)

    return key


def sort(rows: list, columns: list, keys) -> list | None:
    """`rows` (tuples of pyoxigraph terms in `columns` order) in the order of `keys`
    ((variable, descending), ...), or None when the engine must order them."""
    positions = {c: i for i, c in enumerate(columns)}
    if any(name not in positions for name, _ in keys):
        return None
    plan = []
    for name, descending in keys:
        i = positions[name]
        key = _column_key(row[i] for row in rows)
        if key is None:
            return None
        plan.append((i, key, descending))
    ordered = list(rows)
    for i, key, descending in reversed(plan):  # stable sorts, least significant key first
        ordered.sort(key=lambda row, i=i, key=key: key(row[i]), reverse=descending)
    return ordered
