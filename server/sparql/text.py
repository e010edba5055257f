"""SPARQL text tools: tokens, the query form, and parameters bound as a VALUES block.

Enough of a lexer to tell structure from content (strings, IRIs and comments are skipped
whole, so a brace or keyword inside them never counts); every bound term is serialized by
pyoxigraph, never pasted from input.
"""

import functools
import re

import pyoxigraph as ox

from ..errors import BadRequest
from ..rdf.terms import to_oxigraph

QUERY_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")

# One token of SPARQL text, enough to tell structure from content: strings, IRIs and
# comments are skipped whole so that a brace or keyword inside them never counts.
_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
    | (?P<word>[A-Za-z0-9_\u00B7-\uFFFF][A-Za-z0-9_\-.:%\u00B7-\uFFFF]*|:[A-Za-z0-9_\-.:%\u00B7-\uFFFF]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(text: str):
    """(kind, text, start, end) of every significant token."""
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        kind = match.lastgroup
        if kind not in ("space", "comment"):
            yield kind, match.group(), match.start(), match.end()
        pos = match.end()


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, ASK or DESCRIBE; BadRequest for anything else (an update, say)."""
    for kind, value, _, _ in tokens(text):
        if kind == "word" and value.upper() in QUERY_FORMS:
            return value.upper()
        if kind == "word" and value.upper() not in ("PREFIX", "BASE") and ":" not in value:
            break
    raise BadRequest("expected a SPARQL query (SELECT, CONSTRUCT, ASK or DESCRIBE)")


def _group_end(toks, i: int) -> int:
    """Index of the token closing the brace opened at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][1] == "{":
            depth += 1
        elif toks[j][1] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise BadRequest("malformed SPARQL: unbalanced braces")


def values_block(bindings: dict) -> str:
    """`VALUES (?a ?b) { (<iri> "lit") }`, every term serialized by pyoxigraph. A tuple
    value is a column: one row per item, the single terms repeated in each (every tuple
    the same length; an empty one, no rows)."""
    names = [str(ox.Variable(name)) for name in bindings]  # ValueError on a bad name
    heights = {len(v) for v in bindings.values() if isinstance(v, tuple)}
    if len(heights) > 1:
        raise ValueError("the bound columns differ in length")
    height = heights.pop() if heights else 1
    cells = [[str(to_oxigraph(t)) for t in v] if isinstance(v, tuple) else [str(to_oxigraph(v))] * height
             for v in bindings.values()]
    rows = " ".join(f"({' '.join(row)})" for row in zip(*cells))
    return f"VALUES ({' '.join(names)}) {{ {rows} }}"


def inject_values(query: str, bindings: dict | None) -> str:
    """The query with the bindings as a VALUES block opening its outer WHERE group."""
    if not bindings:
        return query
    try:
        block = values_block(bindings)
    except ValueError as err:
        raise BadRequest(f"cannot bind {sorted(bindings)}: {err}") from None
    head, tail = _around_values(query)
    return head + block + tail


@functools.lru_cache(maxsize=1024)
def _around_values(query: str) -> tuple[str, str]:
    """(head, tail) of the query around where a VALUES block goes: the same questions are
    bound again and again, and finding the place means reading every token."""
    marker = "\x00VALUES\x00"
    bound = _inject_at(query, marker)
    head, _, tail = bound.partition(marker)
    return head, tail


def _inject_at(query: str, block: str) -> str:
    toks = list(tokens(query))
    form = query_form(query)
    start = next(i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == form)
    i = start + 1
    if form == "CONSTRUCT":
        while i < len(toks) and toks[i][1] != "{" and toks[i][1].upper() != "WHERE":
            i += 1
        if i < len(toks) and toks[i][1].upper() == "WHERE":
            # CONSTRUCT WHERE { pattern }: the template is the pattern; spell it out
            # so the pattern may hold a VALUES block.
            open_ = next(j for j in range(i, len(toks)) if toks[j][1] == "{")
            close = _group_end(toks, open_)
            body = query[toks[open_][3] : toks[close][2]]
            return f"{query[: toks[i][2]]}{{{body}}} WHERE {{ {block} {body}}}{query[toks[close][3]:]}"
        i = _group_end(toks, i) + 1  # skip the template
    depth = 0
    for j in range(i, len(toks)):
        value = toks[j][1]
        if value == "(":
            depth += 1
        elif value == ")":
            depth -= 1
        elif value == "{" and depth == 0:
            at = toks[j][3]
            return f"{query[:at]} {block} {query[at:]}"
    raise BadRequest("malformed SPARQL: no WHERE group to bind parameters in")
