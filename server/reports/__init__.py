"""Answers of whole-graph questions kept per build: "reports".

A few questions read the whole graph whatever their parameters (conflicts, gaps, stale
policies, family inconsistencies). At 1M triples on the persisted store they take 2-30 s in
Oxigraph, because every position must be read and thousands of rows sorted, while their
parameters (a payer, a day) only select among the same rows. A report runs the part of
the question that does not depend on the parameters once per build, with SPARQL, and keeps
its rows in SQLite (Python's standard library) beside the build, indexed and in the
question's order; an answer is then a filtered range of those rows: milliseconds.

The question's SPARQL stays the definition. A report module declares the hash of the query
text it was written for (QUERY_SHA): an edited question runs as SPARQL, with a warning,
until its report is brought up to date (tests/reports/test_reports.py fails meanwhile). Rows are
kept with the hash of the question, the module and the engine, and made again when one
changes. tests/reports/test_report_rows.py proves each report gives its question's rows, in its
order, on the shipped data and on generated graphs with injected violations, for every
payer and many days. Over a remote endpoint the questions always run as SPARQL.

A report is a module of this package named after its question, with:

    QUERY_SHA: str       query_sha() of the question's .rq file it was written for
    COLUMNS: list[str]   the question's projected variables, in order
    ORDER: list[str]     its ORDER BY variables (rows equal on them may come in any order)
    SCHEMA: str          SQL creating its tables (names start with the question id)
    def extract(store: pyoxigraph.Store, db: sqlite3.Connection) -> None
    def answer(db: sqlite3.Connection, bindings: dict, cap: int) -> tuple[list[dict], bool]

`bindings` are the question's parameters as Catalogue.bind made them (terms.IRI /
terms.Literal, defaults applied, absent when not given); `answer` returns at most `cap`
rows (column -> SPARQL JSON term, unbound columns left out) and whether more follow.
"""

import hashlib
import importlib
import json
import logging
import marshal
import os
import pkgutil
import sqlite3
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import pyoxigraph as ox

from ..rdf.terms import term_json

log = logging.getLogger(__name__)

FILE = "reports.sqlite"
HERE = Path(__file__).resolve().parent


# ------------------------------------------------------------------ for report modules


def term(solution, name: str):
    """A solution's value as a SPARQL JSON term, or None when unbound."""
    value = solution[name]
    return None if value is None else term_json(value)


def row_json(row: dict) -> str:
    """A row (column -> term or None) as JSON, unbound columns left out."""
    return json.dumps({k: v for k, v in row.items() if v is not None}, separators=(",", ":"))


def pack(row: dict) -> bytes:
    """A row (column -> term, unbound columns left out) as kept in a table: marshal, which
    reads back 3-4x faster than JSON (measured: 1000 rows of payer_gaps, 6 against 21 ms),
    and is read only by the Python that wrote it (its version is in the signature)."""
    return marshal.dumps({k: v for k, v in row.items() if v is not None})


unpack = marshal.loads


def sort_key(value) -> str:
    """Text that sorts as SPARQL ORDER BY sorts one column: unbound first, then blank nodes,
    IRIs, literals (by their text: every ordered column of the reports is a string or an
    IRI, compared by code point as Oxigraph and SQLite's BINARY collation both do)."""
    if value is None:
        return "0"
    kind = value["type"] if isinstance(value, dict) else "literal"
    text = value["value"] if isinstance(value, dict) else str(value)
    return {"bnode": "1", "uri": "2"}.get(kind, "3") + text


def day(bindings: dict, name: str = "as_of"):
    """The text of a bound date parameter ("2024-05-01"), or None when not given."""
    value = (bindings or {}).get(name)
    return None if value is None else value.value


def in_force_sql(prefix: str = "") -> str:
    """SQL true when the row's keys (<prefix>start_key, <prefix>end_key, <prefix>replaced_key,
    NULL when unbound) are in force on :day, as the questions' FILTERs write it."""
    p = prefix
    return (f"({p}start_key IS NULL OR {p}start_key <= :day) AND ({p}end_key IS NULL OR {p}end_key >= :day)"
            f" AND ({p}replaced_key IS NULL OR {p}replaced_key > :day)")


class TermCache:
    """Terms kept once in a report's table (id INTEGER PRIMARY KEY, term TEXT: SPARQL JSON)
    and decoded once per process: a page of 1000 rows stored as ids is built with dict
    look-ups (measured at 1M, payer_gaps: json.loads of every row took longer than the SQL).
    One cache per database file (a build's reports never change), the last few kept."""

    KEEP = 4

    def __init__(self, table: str):
        self.table = table
        self._files: dict = {}
        self._lock = threading.Lock()

    def terms(self, db, ids) -> dict:
        """id -> term for every id of `ids` (None and 0 left out)."""
        path = db.execute("PRAGMA database_list").fetchone()[2] or str(id(db))
        with self._lock:
            known = self._files.pop(path, None)
            if known is None:
                known = {}
                while len(self._files) >= self.KEEP:
                    self._files.pop(next(iter(self._files)))
            self._files[path] = known
        missing = [i for i in set(ids) if i and i not in known]
        for start in range(0, len(missing), 500):
            part = missing[start:start + 500]
            for i, text in db.execute(f"SELECT id, term FROM {self.table} WHERE id IN ({','.join('?' * len(part))})", part):
                known[i] = json.loads(text)
        return known


# ------------------------------------------------------------------ the set of reports


def modules() -> dict:
    """question id -> report module, for every module of this package."""
    found = {}
    for info in pkgutil.iter_modules([str(HERE)]):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return found


def query_sha(path: Path) -> str:
    """The hash a report module declares (QUERY_SHA) of the question text it was written for."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def signature(question_id: str, module, queries_dir: Path) -> str | None:
    """What a report is made from: its question's query text, its module's source, the
    engine and Python (pack). None when the question is not in queries_dir or reads
    otherwise than the text the module was written for (QUERY_SHA): its rows would answer
    another question."""
    rq = Path(queries_dir) / f"{question_id}.rq"
    if not rq.is_file():
        return None
    if query_sha(rq) != getattr(module, "QUERY_SHA", None):
        log.warning("report %s was written for another version of %s: the question runs as SPARQL", question_id, rq)
        return None
    digest = hashlib.sha256()
    for part in (rq.read_bytes(), Path(module.__file__).read_bytes(), HERE.joinpath("__init__.py").read_bytes(),
                 ox.__version__.encode(), sys.version.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:20]


def make(store: ox.Store, path: Path, queries_dir: Path, progress=None) -> dict:
    """Write every report of `store` to a new SQLite file at `path` (atomically: a failed
    run leaves what was there). Returns question id -> seconds taken."""
    path = Path(path)
    tmp = Path(tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")[1])
    taken = {}
    try:
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE reports (question TEXT PRIMARY KEY, signature TEXT NOT NULL, seconds REAL)")
            for qid, module in sorted(modules().items()):
                sig = signature(qid, module, queries_dir)
                if sig is None:
                    continue
                if progress:
                    progress(f"report {qid}")
                start = time.perf_counter()
                db.executescript(module.SCHEMA)
                module.extract(store, db)
                taken[qid] = time.perf_counter() - start
                db.execute("INSERT INTO reports VALUES (?, ?, ?)", (qid, sig, taken[qid]))
            db.commit()
            db.execute("ANALYZE")
            db.commit()
        finally:
            db.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return taken


def current(path: Path, queries_dir: Path) -> bool:
    """Whether the reports at `path` were made from today's questions and modules."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            kept = dict(db.execute("SELECT question, signature FROM reports"))
        finally:
            db.close()
    except sqlite3.Error:
        return False
    wanted = {qid: signature(qid, m, queries_dir) for qid, m in modules().items()}
    return kept == {qid: sig for qid, sig in wanted.items() if sig is not None}


class Reports:
    """The reports of one graph, answered from SQLite; one connection per thread."""

    def __init__(self, path: Path, queries_dir: Path, cleanup: bool = False):
        self.path = Path(path)
        self._local = threading.local()
        db = self._connect()
        kept = dict(db.execute("SELECT question, signature FROM reports"))
        self.modules = {}
        for qid, module in modules().items():
            sig = signature(qid, module, queries_dir)
            if sig is not None and kept.get(qid) == sig:
                self.modules[qid] = module
            elif sig is not None:
                log.warning("report %s was made from another version of its question or module: it runs as SPARQL "
                            "until the reports are made again", qid)
        self.questions = set(self.modules)
        if cleanup:  # a file made for an in-memory store: gone with it
            weakref.finalize(self, _remove, str(self.path))

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # immutable: nothing writes the file once made (no locking, no journal look-ups)
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def __contains__(self, question_id: str) -> bool:
        return question_id in self.questions

    def answer(self, question_id: str, bindings: dict, cap: int) -> tuple[list, list, bool]:
        """(columns, rows, truncated) of a question from its report."""
        module = self.modules[question_id]
        rows, more = module.answer(self._connect(), bindings or {}, cap)
        return list(module.COLUMNS), rows, more


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class LazyReports:
    """The reports of an in-memory store (development, tests), made at the first question
    that has one, in a temporary file removed with them: a start or a reload of the store
    does not wait for them."""

    def __init__(self, store: ox.Store, queries_dir: Path):
        self.store = store
        self.queries_dir = Path(queries_dir)
        self.questions = {qid for qid, m in modules().items() if signature(qid, m, self.queries_dir)}
        self._made = None
        self._lock = threading.Lock()

    def __contains__(self, question_id: str) -> bool:
        return question_id in self.questions

    def made(self) -> Reports:
        with self._lock:
            if self._made is None:
                fd, name = tempfile.mkstemp(prefix="coderef-reports-", suffix=".sqlite")
                os.close(fd)
                try:
                    make(self.store, Path(name), self.queries_dir)
                except BaseException:
                    _remove(name)
                    raise
                self._made = Reports(Path(name), self.queries_dir, cleanup=True)
            return self._made

    def answer(self, question_id: str, bindings: dict, cap: int) -> tuple[list, list, bool]:
        return self.made().answer(question_id, bindings, cap)
