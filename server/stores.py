"""Stores: one interface, an embedded and a remote backend.

Every backend answers SELECT with a `Result` whose rows map variable names to terms in
the SPARQL 1.1 JSON results form ({"type": "uri"|"literal"|"bnode", "value": ...,
"datatype"?, "xml:lang"?}), so that callers never see which engine answered.

Parameters are bound by value (`bindings={"code": IRI(...)}`): the embedded backend
substitutes them in the parsed query (SEP-0007); nothing is pasted into query text.
"""

from dataclasses import dataclass, field

import pyoxigraph as ox

from . import config as cfg
from .errors import BadRequest, ConfigError

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class IRI:
    value: str


@dataclass(frozen=True)
class Literal:
    value: str
    datatype: str | None = None
    lang: str | None = None


@dataclass
class Result:
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    truncated: bool = False


def term_json(term) -> dict:
    """A pyoxigraph term as a SPARQL JSON results term."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


def to_oxigraph(term):
    if isinstance(term, IRI):
        return ox.NamedNode(term.value)
    if isinstance(term, Literal):
        if term.lang:
            return ox.Literal(term.value, language=term.lang)
        if term.datatype:
            return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
        return ox.Literal(term.value)
    raise TypeError(f"cannot bind {term!r}: use stores.IRI or stores.Literal")


class EmbeddedStore:
    """Oxigraph in-process (measured: ~10x rdflib Memory on load, 20x+ on queries)."""

    kind = "embedded"

    def __init__(self, store: ox.Store, settings: dict | None = None, read_only: bool = False,
                 stale: str | None = None, source=None):
        self.store = store
        self.settings = cfg.resolve(settings)
        self.read_only = read_only
        # Why the data on disk is newer than what is served (a rebuild failed), or None.
        self.stale = stale
        self.source = source
        # QUERY_ISOLATION: queries run in child processes that open `source`, the same data
        # ("persisted", build) or ("files", paths), and are killed past QUERY_TIMEOUT.
        self.isolation = None
        if source is not None and self.settings.get("QUERY_ISOLATION"):
            from .isolation import QueryProcesses  # noqa: PLC0415

            self.isolation = QueryProcesses(source, self.settings)

    def _run(self, query: str, bindings):
        substitutions = {ox.Variable(k): to_oxigraph(v) for k, v in (bindings or {}).items()}
        try:
            return self.store.query(query, substitutions=substitutions or None)
        except SyntaxError as err:
            raise BadRequest(f"malformed SPARQL: {err}") from None
        except RuntimeError as err:
            # Oxigraph substitutes only projected variables; bind the others the way the
            # remote store does, as a VALUES block (terms serialized by pyoxigraph).
            if "SELECT projection" not in str(err):
                raise
        from .remote import inject_values  # noqa: PLC0415 (remote imports this module)

        return self.store.query(inject_values(query, bindings))

    def select(self, query: str, bindings=None, cap: int | None = None) -> Result:
        cap = self.settings["RESULT_CAP"] if cap is None else cap
        if self.isolation is not None:
            return self.isolation.run("select", query, bindings, cap)
        solutions = self._run(query, bindings)
        if not isinstance(solutions, ox.QuerySolutions):
            raise BadRequest("expected a SELECT query")
        columns = [v.value for v in solutions.variables]
        result = Result(columns)
        for solution in solutions:
            if len(result.rows) >= cap:
                result.truncated = True
                break
            result.rows.append({c: term_json(solution[c]) for c in columns if solution[c] is not None})
        return result

    def ask(self, query: str, bindings=None) -> bool:
        if self.isolation is not None:
            return self.isolation.run("ask", query, bindings)
        answer = self._run(query, bindings)
        if not isinstance(answer, ox.QueryBoolean):
            raise BadRequest("expected an ASK query")
        return bool(answer)

    def construct(self, query: str, bindings=None) -> list:
        """Triples of a CONSTRUCT or DESCRIBE query, as pyoxigraph triples."""
        if self.isolation is not None:
            return self.isolation.run("construct", query, bindings)
        triples = self._run(query, bindings)
        if not isinstance(triples, ox.QueryTriples):
            raise BadRequest("expected a CONSTRUCT or DESCRIBE query")
        return list(triples)

    def __len__(self) -> int:
        return len(self.store)


STORE_KINDS = ("memory", "persisted")


def open_store(settings: dict | None = None, progress=None):
    """The store the settings ask for: remote when SPARQL_ENDPOINT is set, else embedded,
    in memory or persisted (STORE)."""
    settings = cfg.resolve(settings)
    if settings.get("SPARQL_ENDPOINT"):
        from .remote import RemoteStore  # noqa: PLC0415 (optional backend)

        return RemoteStore(settings)
    from .graph import ensure_persisted, load_store

    kind = settings.get("STORE") or "memory"
    if kind not in STORE_KINDS:
        raise ConfigError(f"STORE is {kind!r}; use one of {', '.join(STORE_KINDS)}")
    files = cfg.data_files(settings)
    if kind == "persisted":
        build, stale = ensure_persisted(files, cfg.folder(settings, "STORE_DIR"), progress,
                                        shapes=cfg.shape_files(settings))
        return EmbeddedStore(ox.Store.read_only(str(build)), settings, read_only=True, stale=stale,
                             source=("persisted", build))
    return EmbeddedStore(load_store(files, progress), settings, source=("files", files))
