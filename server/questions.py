"""Questions: named SPARQL queries read from queries/*.rq, each with a grlc-style header.

    #+ summary: Services bundled into a code
    #+ description: Components included in the code, and the codes that would report them alone.
    #+ params:
    #+   - {name: code, type: code, required: true, description: a procedure code}
    #+ tags: [educators]

Unlike grlc, a header that does not parse stops the start-up with the file's name, and
parameter values are bound by value (never pasted into the query text). A parameter is
the query variable of the same name and appears only in the outer WHERE group, so that a
remote backend injecting VALUES there gets the same answer as the embedded one.
"""

import csv
import functools
import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import yaml

from . import config as cfg
from .files import write_atomically
from .errors import BadRequest, CoderefError, NotFound
from .namespaces import CR, ID, SKOS, XSD
from .stores import IRI, Literal

__all__ = ["Answer", "Catalogue", "HeaderError", "Param", "PortabilityCache", "Question", "check_cache", "get_catalogue",
           "init_app", "load_catalogue", "paging", "plain", "vouched"]

PARAM_TYPES = ("code", "icd10cm", "payer", "date", "string", "integer")
HEADER_KEYS = {"summary", "description", "params", "tags"}
PARAM_KEYS = {"name", "type", "required", "default", "description"}
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Query-string names the HTTP interface keeps for itself: no question parameter may take them.
RESERVED_PARAMS = ("format", "limit", "offset")

# Notation patterns of each code system (id/<scheme>/<notation>); a `code` that matches
# none of them is malformed (400), one that matches but is not in the graph unknown (404).
CODE_PATTERNS = {
    "cpt": re.compile(r"^[0-9]{4}[0-9A-Z]$"),  # Category I digits; II F, III T, PLA U, M, A
    "hcpcs": re.compile(r"^[A-Z][0-9]{4}$"),
    # Icd10cmNotationShape's pattern: the official set has U07.1 and a letter second (QA0.0101).
    "icd10cm": re.compile(r"^[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?$"),
    "modifier": re.compile(r"^[0-9A-Z]{2}$"),
    "pos": re.compile(r"^[0-9]{2}$"),
}
PAYER_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
CODE_CLASSES = ("ProcedureCode", "DiagnosisCode", "Modifier", "PlaceOfService")
MAX_STRING = 200


class HeaderError(CoderefError):
    """A question file whose header or query cannot be used: names the file."""

    exit_code = 2

    def __init__(self, path, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = True
    default: str | None = None
    description: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "required": self.required,
                "default": self.default, "description": self.description}


@dataclass(frozen=True)
class Question:
    id: str
    summary: str
    description: str
    params: tuple
    tags: tuple
    query: str
    path: Path
    columns: tuple = ()  # the projected variables, known before any answer

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def as_dict(self) -> dict:
        return {"id": self.id, "summary": self.summary, "description": self.description,
                "params": [p.as_dict() for p in self.params], "tags": list(self.tags)}


@dataclass
class Answer:
    question: Question
    columns: list
    rows: list  # dicts: column -> SPARQL JSON term
    truncated: bool = False  # the result cap cut the answer where these rows end
    bindings: dict = field(default_factory=dict)  # param name -> stores.IRI / stores.Literal
    offset: int = 0  # of the first row, when the answer is one page of a longer one
    more: bool = False  # rows follow this page

    def records(self) -> list[dict]:
        """Rows with plain string values, unbound columns as None."""
        return [{c: plain(row.get(c)) for c in self.columns} for row in self.rows]

    def as_json(self) -> dict:
        return {"ok": True, "question": self.question.id, "columns": self.columns,
                "rows": self.records(), "truncated": self.truncated}

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        for record in self.records():
            writer.writerow(["" if record[c] is None else record[c] for c in self.columns])
        return out.getvalue()

    def as_text(self) -> str:
        records = self.records()
        widths = {c: max([len(c)] + [len(_cell(r[c])) for r in records]) for c in self.columns}
        widths = {c: min(w, 60) for c, w in widths.items()}
        lines = ["  ".join(c.ljust(widths[c]) for c in self.columns).rstrip(),
                 "  ".join("-" * widths[c] for c in self.columns)]
        for r in records:
            lines.append("  ".join(_cell(r[c])[: widths[c]].ljust(widths[c]) for c in self.columns).rstrip())
        lines.append(f"({len(records)} row{'s' if len(records) != 1 else ''}{', truncated' if self.truncated else ''})")
        return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return "" if value is None else str(value).replace("\n", " ")


def plain(term):
    """The value of a SPARQL JSON term (None when unbound)."""
    return None if term is None else term["value"]


# ------------------------------------------------------------------ reading files

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
    if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
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
    return Param(name, kind, required, default, str(raw.get("description") or ""))


def read_question(path, portable=None) -> Question:
    path = Path(path)
    qid, summary, description, params, tags, query = _read_header(path)
    key = (query, tuple(p.name for p in params))
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
    names = {p.name for p in params}
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
        text = json.dumps([PORTABILITY_CHECK, *_engine_versions(), [p.name for p in params], query])
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


# ------------------------------------------------------------------ binding values

_LOOKUP_CODE = f"""
PREFIX skos: <{SKOS}>
PREFIX cr: <{CR}>
SELECT ?code ?class WHERE {{
  ?code skos:notation ?notation ; a ?class .
  VALUES ?class {{ {' '.join('cr:' + c for c in CODE_CLASSES)} }}
}}
"""
_LOOKUP_IRI = f"""
PREFIX cr: <{CR}>
SELECT ?class WHERE {{ ?code a ?class . VALUES ?class {{ {' '.join('cr:' + c for c in CODE_CLASSES)} cr:Payer }} }}
"""


def code_schemes(notation: str) -> list[str]:
    """The code systems whose notation pattern `notation` fits."""
    return [s for s, pattern in CODE_PATTERNS.items() if pattern.match(notation)]


def resolve_code(store, value: str, name: str = "code", diagnosis_only: bool = False) -> IRI:
    """The IRI of the code written `value` ("0584T", "E10.649", or "pos/22" to pick a scheme)."""
    text = (value or "").strip()
    scheme = None
    if "/" in text:
        scheme, _, text = text.partition("/")
        if scheme not in CODE_PATTERNS:
            raise BadRequest(f"parameter {name!r}: unknown code system {scheme!r}; use one of {', '.join(CODE_PATTERNS)}")
    notation = text.upper()
    schemes = code_schemes(notation)
    if diagnosis_only:
        schemes = [s for s in schemes if s == "icd10cm"]
    if scheme:
        schemes = [s for s in schemes if s == scheme]
    if not notation or not schemes:
        wanted = "an ICD-10-CM code such as E10.649" if diagnosis_only else "a code such as 0584T, G0341, E10.649, 22 or Q0"
        raise BadRequest(f"parameter {name!r}: {value!r} is not {wanted}")
    if scheme:
        iri = f"{ID}{scheme}/{notation}"
        if not store.select(_LOOKUP_IRI, bindings={"code": IRI(iri)}).rows:
            raise NotFound(f"parameter {name!r}: no code {scheme}/{notation} in the reference")
        return IRI(iri)
    rows = store.select(_LOOKUP_CODE, bindings={"notation": Literal(notation)}).rows
    found = {r["code"]["value"]: r["class"]["value"].removeprefix(CR) for r in rows}
    if diagnosis_only:
        found = {iri: c for iri, c in found.items() if c == "DiagnosisCode"}
    if not found:
        raise NotFound(f"parameter {name!r}: no code {notation} in the reference")
    if len(found) > 1:
        # A procedure or diagnosis code wins over a modifier or POS code of the same notation.
        preferred = [iri for iri, c in found.items() if c in ("ProcedureCode", "DiagnosisCode")]
        if len(preferred) == 1:
            return IRI(preferred[0])
        choices = ", ".join(sorted(iri.removeprefix(ID) for iri in found))
        raise BadRequest(f"parameter {name!r}: {notation} names more than one code ({choices}); write it as one of those")
    return IRI(next(iter(found)))


def resolve_payer(store, value: str, name: str = "payer") -> IRI:
    slug = (value or "").strip().lower()
    if not PAYER_SLUG.match(slug):
        raise BadRequest(f"parameter {name!r}: {value!r} is not a payer slug such as medicare or aetna (see /api/payers)")
    iri = f"{ID}payer/{slug}"
    rows = store.select(_LOOKUP_IRI, bindings={"code": IRI(iri)}).rows
    if not any(r["class"]["value"] == CR + "Payer" for r in rows):
        raise NotFound(f"parameter {name!r}: no payer {slug} in the reference (see /api/payers)")
    return IRI(iri)


def bind_value(store, param: Param, value: str):
    """A stores.IRI or stores.Literal for one parameter value, validated."""
    name = param.name
    if param.type == "code":
        return resolve_code(store, value, name)
    if param.type == "icd10cm":
        return resolve_code(store, value, name, diagnosis_only=True)
    if param.type == "payer":
        return resolve_payer(store, value, name)
    if param.type == "date":
        text = value.strip().lower()
        if text == "today":
            return Literal(date.today().isoformat(), XSD + "date")
        try:
            return Literal(date.fromisoformat(text).isoformat(), XSD + "date")
        except ValueError:
            raise BadRequest(f"parameter {name!r}: {value!r} is not a date written YYYY-MM-DD") from None
    if param.type == "integer":
        text = value.strip()
        if not re.match(r"^[0-9]{1,9}$", text):
            raise BadRequest(f"parameter {name!r}: {value!r} is not a whole number from 0")
        return Literal(str(int(text)), XSD + "integer")
    if len(value) > MAX_STRING:
        raise BadRequest(f"parameter {name!r} is longer than {MAX_STRING} characters")
    return Literal(value)


# ------------------------------------------------------------------ the catalogue

class Catalogue:
    def __init__(self, questions):
        self.questions = {q.id: q for q in questions}

    def __iter__(self):
        return iter(self.questions.values())

    def __len__(self):
        return len(self.questions)

    def __contains__(self, qid):
        return qid in self.questions

    def get(self, qid: str) -> Question:
        try:
            return self.questions[qid]
        except KeyError:
            raise NotFound(f"no question {qid!r}; the questions are listed at /api/questions") from None

    def by_tag(self) -> dict[str, list[Question]]:
        groups: dict[str, list[Question]] = {}
        for q in self:
            for tag in q.tags or ("other",):
                groups.setdefault(tag, []).append(q)
        return groups

    def bind(self, store, question: Question, raw_params: dict) -> dict:
        """Validated bindings for the parameters given; keys starting with _ are ignored."""
        raw = {k: v for k, v in (raw_params or {}).items() if not k.startswith("_")}
        unknown = sorted(set(raw) - {p.name for p in question.params})
        if unknown:
            known = ", ".join(p.name for p in question.params) or "none"
            raise BadRequest(f"unknown parameter {unknown[0]!r} for question {question.id!r} (its parameters: {known})")
        bindings = {}
        for p in question.params:
            value = raw.get(p.name)
            if value is None or str(value).strip() == "":
                value = p.default
            if value is None:
                if p.required:
                    raise BadRequest(f"parameter {p.name!r} is required by question {question.id!r}")
                continue
            bindings[p.name] = bind_value(store, p, str(value))
        return bindings

    def run(self, store, question_id: str, raw_params: dict | None = None, cap: int | None = None) -> Answer:
        """The answer for parameters as a person writes them ({"code": "0584T"}), validated."""
        question = self.get(question_id)
        return self.answer(store, question_id, self.bind(store, question, raw_params or {}), cap)

    def page(self, store, question_id: str, raw_params: dict | None, offset: int, limit: int) -> Answer:
        """Rows offset to offset+limit of the answer capped at the store's RESULT_CAP. Only
        the rows up to the page's end leave the engine (with isolation, cross the pipe), so
        a first page of a long answer costs little more than the query itself."""
        result_cap = store.settings["RESULT_CAP"]
        end = min(offset + limit, result_cap)
        answer = self.run(store, question_id, raw_params, cap=end)
        cut_at_cap = end == result_cap and answer.truncated
        answer.more = answer.truncated and not cut_at_cap
        answer.truncated = cut_at_cap
        answer.rows = answer.rows[offset:end]
        answer.offset = offset
        return answer

    def answer(self, store, question_id: str, bindings: dict, cap: int | None = None) -> Answer:
        """The answer for bindings already resolved (stores.IRI / stores.Literal values)."""
        question = self.get(question_id)
        reports = getattr(store, "reports", None)
        if reports is not None and question_id in reports:
            cap = store.settings["RESULT_CAP"] if cap is None else cap
            columns, rows, truncated = reports.answer(question_id, bindings, cap)
            return Answer(question, columns, rows, truncated, bindings)
        result = store.select(question.query, bindings=bindings, cap=cap)
        return Answer(question, list(result.columns), result.rows, result.truncated, bindings)


# ------------------------------------------------------------------ paging

def paging(args, default_limit: int, result_cap: int) -> tuple[int, int]:
    """(offset, limit) from a request's `offset` and `limit`: whole numbers, limit from 1 to
    the result cap, offset below it."""
    numbers = {}
    for name, default, low, high in (("offset", 0, 0, result_cap - 1), ("limit", default_limit, 1, result_cap)):
        text = (args.get(name) or "").strip()
        if not text:
            numbers[name] = default
            continue
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            raise BadRequest(f"parameter {name!r}: {text[:40]!r} is not a whole number from {low} to {high}")
        numbers[name] = int(text)
    return numbers["offset"], numbers["limit"]


# ------------------------------------------------------------------ Flask and CLI

def init_app(app):
    app.extensions["coderef.questions"] = load_catalogue(cfg.folder(app.config, "QUERIES_DIR"), check_cache(app.config))


def get_catalogue() -> Catalogue:
    from flask import current_app

    return current_app.extensions["coderef.questions"]


def _parse_pairs(pairs) -> dict:
    params = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise BadRequest(f"--param {pair!r}: write it as name=value")
        params[name.strip()] = value
    return params


class _LazyStore:
    """A store opened when first used."""

    def __init__(self, opener):
        self._opener, self._store = opener, None

    def __getattr__(self, name):
        if self._store is None:
            self._store = self._opener()
        return getattr(self._store, name)


def cmd_query(args) -> int:
    from .cli import settings_from
    from .stores import open_store

    settings = settings_from(args)
    catalogue = load_catalogue(cfg.folder(settings, "QUERIES_DIR"), check_cache(settings))
    if args.question is None:
        for q in catalogue:
            params = " ".join(f"{p.name}={p.type}{'' if p.required else '?'}" for p in q.params)
            print(f"{q.id:24} {q.summary}{'  [' + params + ']' if params else ''}")
        return 0
    catalogue.get(args.question)  # an unknown question fails before the data loads
    params = _parse_pairs(args.param)
    # Opened on the first look-up: a malformed or missing parameter fails before the data loads.
    store = _LazyStore(lambda: open_store(settings))
    answer = catalogue.run(store, args.question, params)
    if args.format == "json":
        sys.stdout.write(json.dumps(answer.as_json(), indent=2, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        sys.stdout.write(answer.as_csv())
    else:
        sys.stdout.write(answer.as_text())
    return 0


def register_cli(subparsers, common):
    p = subparsers.add_parser("query", parents=[common], help="answer a named question (no id: list them)")
    p.add_argument("question", nargs="?", help="question id, e.g. bundled_services")
    p.add_argument("--param", "-p", action="append", metavar="NAME=VALUE", help="a parameter, e.g. code=0584T (repeatable)")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.set_defaults(func=cmd_query)
