"""The read-only guard: the check every query passes before any store sees it.

The check parses the query (rdflib's SPARQL 1.1 grammar) and refuses what would write or
reach outside: SPARQL Update, SERVICE and LOAD. The embedded Oxigraph engine does send
SERVICE requests (measured), so the check runs in front of both backends, never inside
one. FROM / FROM NAMED pass: they name graphs of the store (one per data file), and an
IRI the store does not hold is an empty graph, never fetched (server/sparql/dataset.py).

rdflib and Oxigraph read the same text differently in two places, and a difference is a
way past the check: rdflib expands \\uXXXX escapes before parsing (as SPARQL 1.1 section
19.2 says) and Oxigraph does not, and Oxigraph ends a comment at a carriage return while
rdflib reads on to the newline. rdflib therefore parses a copy of the text made to read as
Oxigraph reads it; the text executed is the text checked.
"""

import functools
import re
import threading

from ..errors import BadRequest, Forbidden
from .text import QUERY_FORMS, tokens

# rdflib's parse tree names the form: SelectQuery, AskQuery, ConstructQuery, DescribeQuery.
_FORM_OF = {form.title() + "Query": form for form in QUERY_FORMS}
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
# Keywords that never occur in a query this service runs; seen outside strings, IRIs and
# comments, they refuse the query whatever the parser made of it (a second opinion).
REFUSED_WORDS = {"SERVICE": "SERVICE", "LOAD": "LOAD"}

REFUSALS = {
    "update": "SPARQL Update is refused: this service is read-only",
    "SERVICE": "SERVICE is refused: queries run over this reference only and never call other endpoints",
    "LOAD": "LOAD is refused: this service is read-only",
}

# A backslash pair stays (so "\\u0041" is a backslash and text); an escape becomes one
# neutral character, which keeps strings strings and IRIs IRIs, as Oxigraph lexes them.
_ESCAPE = re.compile(r"\\\\|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}")
# pyparsing's grammar objects keep state while parsing; one parse at a time.
_PARSING = threading.Lock()


def _as_oxigraph_reads(text: str) -> str:
    text = _ESCAPE.sub(lambda m: m.group() if m.group() == "\\\\" else "x", text)
    return text.replace("\r", "\n")


def _nodes(tree, name: str):
    """Every CompValue called `name` in an rdflib parse tree."""
    from rdflib.plugins.sparql.parserutils import CompValue  # noqa: PLC0415 (slow import)

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == name:
                yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
            stack.extend(node)


def _first_word(text: str) -> str | None:
    for kind, value, _, _ in tokens(text):
        if kind == "word" and value.upper() not in ("PREFIX", "BASE") and ":" not in value:
            return value.upper()
    return None


@functools.lru_cache(maxsize=256)  # pure; the view checks before negotiating, run_query again
def check_query(text) -> str:
    """The query form (SELECT, ASK, CONSTRUCT, DESCRIBE) of a query this service will run;
    BadRequest (400) for a malformed query, Forbidden (403) for what it refuses."""
    from pyparsing import ParseBaseException  # noqa: PLC0415
    from rdflib.plugins.sparql import parser  # noqa: PLC0415 (slow import, first query only)

    if not isinstance(text, str) or not text.strip():
        raise BadRequest("no query: give a SPARQL SELECT, ASK, CONSTRUCT or DESCRIBE query")
    view = _as_oxigraph_reads(text)
    try:
        with _PARSING:
            tree = parser.Query.parse_string(view, parse_all=True)
    except ParseBaseException as err:
        if _first_word(view) in UPDATE_WORDS or _parses_as_update(view):
            raise Forbidden(REFUSALS["LOAD" if _first_word(view) == "LOAD" else "update"]) from None
        raise BadRequest(f"malformed SPARQL: {err}") from None
    except RecursionError:
        raise BadRequest("malformed SPARQL: nested too deeply to read") from None
    query = tree[-1]
    if any(_nodes(query, "ServiceGraphPattern")):
        raise Forbidden(REFUSALS["SERVICE"])
    for kind, value, _, _ in tokens(view):
        if kind == "word" and value.upper() in REFUSED_WORDS:
            raise Forbidden(REFUSALS[REFUSED_WORDS[value.upper()]])
    return _FORM_OF[query.name]


def _parses_as_update(view: str) -> bool:
    from pyparsing import ParseBaseException  # noqa: PLC0415
    from rdflib.plugins.sparql import parser  # noqa: PLC0415

    try:
        with _PARSING:
            parser.UpdateUnit.parse_string(view, parse_all=True)
    except (ParseBaseException, RecursionError):
        return False
    return True
