"""Reading question files: the #+ header checked, the query parsed by both engines, checks cached.

A header that does not parse stops the start-up with the file's name (grlc would ignore it).
"""

import functools
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import yaml

from .. import config as cfg
from ..files import write_atomically
from .catalogue import Catalogue
from .model import HeaderError, Param, Question

PARAM_TYPES = ("code", "icd10cm", "icd10cm-list", "payer", "date", "string", "integer")
HEADER_KEYS = {"summary", "description", "params", "tags"}
PARAM_KEYS = {"name", "type", "required", "default", "description", "binds"}
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a parameter's name, and what it binds
# Query-string names the HTTP interface keeps for itself: no question parameter may take them.
RESERVED_PARAMS = ("format", "limit", "offset")


def _split_header(text: str) -> tuple[str, str]:
    header, body, in_header = [], [], True
    for line in text.splitlines():
        if in_header and line.startswith("#+"):
            header.append(line[2:].removeprefix(" "))
        else:
            in_header = in_header and not line.strip()
            body.append(line)
    return "\n".join(header), "\n".join(body).strip() + "\n"


def _param(path, raw) -> Param:
    if isinstance(raw, str):  # shorthand `params: [code]`: the name is the type
        raw = {"name": raw, "type": raw}
    if not isinstance(raw, dict):
        raise HeaderError(path, f"a parameter must be a name or a mapping, not {raw!r}")
    unknown = set(raw) - PARAM_KEYS
    if unknown:
        raise HeaderError(path, f"unknown parameter key(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(PARAM_KEYS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not VARIABLE_NAME.match(name):
        raise HeaderError(path, f"parameter name {name!r} is not a SPARQL variable name")
    if name in RESERVED_PARAMS:
        raise HeaderError(path, f"parameter name {name!r} is kept for the HTTP interface ({', '.join(RESERVED_PARAMS)}); choose another")
    kind = raw.get("type", "string")
    if kind not in PARAM_TYPES:
        raise HeaderError(path, f"parameter {name!r} has unknown type {kind!r}; use one of {', '.join(PARAM_TYPES)}")
    required = raw.get("required", "default" not in raw)
    if not isinstance(required, bool):
        raise HeaderError(path, f"parameter {name!r}: required must be true or false")
    default = raw.get("default")
    if default is not None:
        default = default.isoformat() if isinstance(default, date) else str(default)
    binds = raw.get("binds") or ()
    if binds:
        if kind != "icd10cm-list":
            raise HeaderError(path, f"parameter {name!r}: binds is for an icd10cm-list parameter, not a {kind}")
        if (not isinstance(binds, list) or len(binds) not in (1, 2) or len(set(map(str, binds))) != len(binds)
                or not all(isinstance(v, str) and VARIABLE_NAME.match(v) for v in binds)):
            raise HeaderError(path, f"parameter {name!r}: binds is a list of one or two distinct variable names, "
                                    f"not {binds!r}")
    return Param(name, kind, required, default, str(raw.get("description") or ""), tuple(binds))


def read_question(path, portable=None) -> Question:
    path = Path(path)
    qid, summary, description, params, tags, query = _read_header(path)
    key = (query, tuple(v for p in params for v in p.variables))
    columns = _CHECKED.get(key)
    if columns is None:
        columns = _CHECKED[key] = _check_query(path, query, params, portable)
    elif portable is not None:
        portable.add(query, params)  # checked earlier in this process: the file keeps it
    return Question(qid, summary, description, params, tags, query, path, columns)


# libyaml's loader when PyYAML has it: reading the headers is most of a catalogue's load.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_header(path: Path) -> tuple:
    """(id, summary, description, params, tags, query) of a question file, checked."""
    qid = path.stem
    if not QUESTION_ID.match(qid):
        raise HeaderError(path, f"question id {qid!r} must be lower-case letters, digits and _")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise HeaderError(path, f"cannot read: {err}") from None
    header_text, query = _split_header(text)
    if not header_text.strip():
        raise HeaderError(path, "no #+ header (summary, description, params, tags)")
    try:
        header = yaml.load(header_text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as err:
        raise HeaderError(path, f"the #+ header is not valid YAML: {err}") from None
    if not isinstance(header, dict):
        raise HeaderError(path, "the #+ header must be a mapping of summary, description, params, tags")
    unknown = set(header) - HEADER_KEYS
    if unknown:
        raise HeaderError(path, f"unknown header key(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(HEADER_KEYS))}")
    summary = header.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise HeaderError(path, "the header needs a summary")
    params = header.get("params") or []
    tags = header.get("tags") or []
    if not isinstance(params, list):
        raise HeaderError(path, "params must be a list")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise HeaderError(path, "tags must be a list of words")
    params = tuple(_param(path, p) for p in params)
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise HeaderError(path, "a parameter is declared twice")
    variables = [v for p in params for v in p.variables]
    if len(set(variables)) != len(variables):
        raise HeaderError(path, "two parameters bind the same variable")
    return qid, summary.strip(), str(header.get("description") or "").strip(), params, tuple(tags), query


# Query text and parameter names -> columns, for queries that passed the checks: parsing
# with rdflib costs ~0.1 s a file, paid again by every app a process creates (tests, reloads).
_CHECKED: dict = {}


def _check_query(path, query: str, params, portable=None):
    """Parse the query with both engines and check the parameters are outer variables;
    the names of the columns it projects. `portable`, a PortabilityCache, may vouch for
    the rdflib half (the Oxigraph parse is a few ms and always runs)."""
    try:
        solutions = ox.Store().query(query)  # an empty store: parses, and nothing can run long
    except SyntaxError as err:
        raise HeaderError(path, f"the query does not parse: {err}") from None
    if not isinstance(solutions, ox.QuerySolutions):
        raise HeaderError(path, "a question is a SELECT query")
    columns = tuple(v.value for v in solutions.variables)
    if portable is not None and portable.vouches(query, params):
        return columns
    _check_portable(path, query, params)
    if portable is not None:
        portable.add(query, params)
    return columns


def _check_portable(path, query: str, params) -> None:
    """The query is SPARQL 1.1 as rdflib reads it, and every parameter is a variable of the
    outer WHERE group, outside sub-SELECTs and BINDs."""
    from rdflib.plugins.sparql.parser import parseQuery  # portable SPARQL 1.1 for remote stores
    from pyparsing import ParseException

    try:
        tree = parseQuery(query)
    except ParseException as err:
        raise HeaderError(path, f"the query is not portable SPARQL 1.1: {err}") from None
    names = {v for p in params for v in p.variables}
    where = tree[1].get("where")
    outer, inner = _variables(where, subqueries=False), _variables(where, subqueries=True)
    in_bind = _variables_in_binds(where)
    for name in sorted(names):
        if name in in_bind:
            # Bound by a VALUES block after the BIND, the parameter would still be unbound there.
            raise HeaderError(path, f"parameter {name!r} is used in a BIND; use it in patterns, FILTERs or the projection")
        if name in inner:
            raise HeaderError(path, f"parameter {name!r} appears inside a subquery; use it only in the outer WHERE group")
        if name not in outer:
            raise HeaderError(path, f"parameter {name!r} appears nowhere in the outer WHERE group")


# Bump when _check_portable checks more: results recorded by an older check are then redone.
PORTABILITY_CHECK = 1
CHECK_CACHE = "question-checks.json"


@functools.cache
def _engine_versions() -> list[str]:
    """rdflib's and pyoxigraph's versions: an upgrade of either checks every query again."""
    from importlib.metadata import version  # not rdflib itself: importing it costs more than the cache saves

    return [version("rdflib"), version("pyoxigraph")]


class PortabilityCache:
    """Which queries passed the rdflib check, kept in a small JSON file so that a worker
    starting over the same queries skips the parse (~0.1 s a file). Keyed by a hash of the
    query text, the parameter names, the rdflib and pyoxigraph versions and PORTABILITY_CHECK: any change
    to one of them is checked again. Only passes are recorded, so a query that fails keeps
    failing at every start. A file that cannot be read or written is just no cache."""

    def __init__(self, path):
        self.path = Path(path)
        self.known: set[str] = set()
        self.used: set[str] = set()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("passed"), list):
                self.known = {k for k in data["passed"] if isinstance(k, str)}
        except (OSError, ValueError):
            pass

    @staticmethod
    def key(query: str, params) -> str:
        text = json.dumps([PORTABILITY_CHECK, *_engine_versions(), [v for p in params for v in p.variables], query])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def vouches(self, query: str, params) -> bool:
        key = self.key(query, params)
        if key in self.known:
            self.used.add(key)
            return True
        return False

    def add(self, query: str, params) -> None:
        self.used.add(self.key(query, params))

    def save(self) -> None:
        """Write the keys of this catalogue, atomically, when they differ from the file's."""
        if self.used == self.known:
            return
        try:
            write_atomically(self.path, [json.dumps({"passed": sorted(self.used)})], prefix=".question-checks-")
            self.known = set(self.used)
        except OSError:
            pass  # an unwritable location means no cache, not an error


def _variables(node, subqueries: bool) -> set:
    """Names of variables under a parse tree node; inside sub-SELECTs only when asked."""
    from rdflib.term import Variable

    found = set()

    def walk(n, inside):
        if isinstance(n, Variable):
            if inside == subqueries:
                found.add(str(n))
            return
        name = getattr(n, "name", None)
        if name == "SubSelect":
            inside = True
        if isinstance(n, dict):
            for v in n.values():
                walk(v, inside)
        elif isinstance(n, (list, tuple)) or type(n).__name__ == "ParseResults":
            for v in n:
                walk(v, inside)

    walk(node, False)
    return found


def _variables_in_binds(node) -> set:
    found = set()

    def walk(n):
        if getattr(n, "name", None) == "Bind":
            found.update(_variables(n.get("expr"), subqueries=False))
        if isinstance(n, dict):
            for v in n.values():
                walk(v)
        elif isinstance(n, (list, tuple)) or type(n).__name__ == "ParseResults":
            for v in n:
                walk(v)

    walk(node)
    return found


def load_catalogue(folder, cache=None) -> "Catalogue":
    """The questions of a folder; `cache`, a JSON file recording the queries that passed
    the rdflib check (see PortabilityCache), makes a second start cheaper."""
    folder = Path(folder)
    if not folder.is_dir():  # a root without questions (a test's data-only copy) has none
        return Catalogue([])
    portable = PortabilityCache(cache) if cache is not None else None
    catalogue = Catalogue([read_question(p, portable) for p in sorted(folder.glob("*.rq"))])
    if portable is not None:
        portable.save()
    return catalogue


def vouched(folder, cache) -> bool:
    """Whether every question file reads and the check cache vouches for its query, judged
    without Oxigraph or rdflib: `coderef serve` may then skip its start-up check."""
    portable = PortabilityCache(cache)
    try:
        headers = [_read_header(p) for p in sorted(Path(folder).glob("*.rq"))]
    except HeaderError:
        return False
    return all(portable.vouches(query, params) for *_, params, _tags, query in headers)


def check_cache(settings: dict) -> Path:
    """Beside the store directory (var/ by default), not in it: a store is rebuilt as a whole."""
    return cfg.folder(settings, "STORE_DIR").parent / CHECK_CACHE
