"""Oxigraph in-process behind the store interface: queries bound by value, ordered here where exact.

Parameters are bound by value (`bindings={"code": IRI(...)}`): the query's outer WHERE
group opens with a VALUES block of the bound terms (serialized by pyoxigraph, never pasted
from input), and the projected ones are also substituted in the parsed query (SEP-0007).
"""

import re

import pyoxigraph as ox

from .. import config as cfg
from ..errors import BadRequest
from ..rdf.terms import term_json, to_oxigraph
from ..sparql import ordering
from ..sparql.dataset import oxigraph_options
from ..sparql.text import inject_values
from .result import Result

# The most rows an answer may have for its ORDER BY to be applied in Python (see select).
SORT_HERE_ROWS = 20_000


def _result(columns: list, rows: list, truncated: bool = False) -> Result:
    """A Result from rows of pyoxigraph terms (tuples in `columns` order). One JSON term
    per distinct term, shared by the rows that hold it: converted once, and pickled once on
    the way out of a query process (a memo reference after that). Callers treat terms as
    read-only."""
    terms = {}
    out = []
    for solution in rows:
        row = {}
        for column, term in zip(columns, solution):
            if term is not None:
                converted = terms.get(term)
                if converted is None:
                    converted = terms[term] = term_json(term)
                row[column] = converted
        out.append(row)
    return Result(columns, out, truncated)


_UNPROJECTED = re.compile(r"variable \?(\w+) in its SELECT projection")


class OxigraphStore:
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
        # The whole-graph questions answered from tables made once per build (server/reports/).
        self.reports = None

    def _run(self, query: str, bindings, dataset=None):
        """Oxigraph's answer, with the bindings as a VALUES block opening the outer WHERE
        group and, for the projected variables, also as substitutions.

        Measured on 1M triples (persisted store, the catalogue's questions with the bench's
        parameters), against substitution alone: the VALUES block lets Oxigraph's planner start
        from the bound terms (coverage_matrix 233 -> 12 ms, secondary_only_positions 251 -> 5
        ms, family_inconsistencies 2.4 -> 1.7 s), the others within noise. The VALUES block
        alone is not enough where a parameter meets a UNION (sources 45 ms -> 11 s: the UNION
        is evaluated unbound, then joined); the substitution keeps that plan.

        The graphs read are the union of the files' graphs unless `dataset` (the Protocol's)
        or the query's FROM names others (server/sparql/dataset.py)."""
        text = inject_values(query, bindings)  # the query itself when nothing is bound
        # A tuple (a column of the VALUES block, several rows) has no single substitution.
        substitutions = {ox.Variable(k): to_oxigraph(v) for k, v in (bindings or {}).items()
                         if not isinstance(v, tuple)}
        options = self._options(query, dataset)
        while True:
            try:
                return self.store.query(text, substitutions=substitutions or None, **options)
            except SyntaxError as err:
                raise BadRequest(f"malformed SPARQL: {err}") from None
            except RuntimeError as err:
                # Oxigraph substitutes only projected variables: the others stay bound by
                # the VALUES block alone (the check happens before any evaluation).
                unprojected = _UNPROJECTED.search(str(err))
                if not unprojected or ox.Variable(unprojected[1]) not in substitutions:
                    raise
                del substitutions[ox.Variable(unprojected[1])]

    def _options(self, query: str, dataset) -> dict:
        """pyoxigraph's dataset keywords for this query (benchmarks/datasets.py overrides it)."""
        return oxigraph_options(query, dataset)

    def select(self, query: str, bindings=None, cap: int | None = None, dataset=None) -> Result:
        cap = self.settings["RESULT_CAP"] if cap is None else cap
        ordered = self._select_sorted_here(query, bindings, cap, dataset)
        if ordered is not None:
            return ordered
        solutions = self._run(query, bindings, dataset)
        if not isinstance(solutions, ox.QuerySolutions):
            raise BadRequest("expected a SELECT query")
        columns = [v.value for v in solutions.variables]
        rows = []
        for solution in solutions:
            if len(rows) >= cap:
                return _result(columns, rows, truncated=True)
            rows.append(tuple(solution))
        return _result(columns, rows)

    def _select_sorted_here(self, query: str, bindings, cap: int, dataset=None) -> "Result | None":
        """The answer with the query's final ORDER BY applied here rather than by the
        engine (server/sparql/ordering.py: on a persisted store the engine's sort was a third of
        `sources` at 1M), or None when that cannot be done exactly: the caller then runs
        the query as written, a second time (measured on the catalogue: never; a /sparql
        query ordering by dates, say). Past SORT_HERE_ROWS rows it gives up too, leaving a
        huge answer's sort to the engine."""
        split = ordering.split(query)
        if split is None:
            return None
        solutions = self._run(split[0], bindings, dataset)
        if not isinstance(solutions, ox.QuerySolutions):
            return None
        columns = [v.value for v in solutions.variables]
        if any(name not in columns for name, _ in split[1]):
            return None  # it orders by a variable it does not project
        rows = []
        for solution in solutions:
            rows.append(tuple(solution))
            if len(rows) > SORT_HERE_ROWS:
                return None
        rows = ordering.sort(rows, columns, split[1])
        if rows is None:
            return None
        return _result(columns, rows[:cap], truncated=len(rows) > cap)

    def ask(self, query: str, bindings=None, dataset=None) -> bool:
        answer = self._run(query, bindings, dataset)
        if not isinstance(answer, ox.QueryBoolean):
            raise BadRequest("expected an ASK query")
        return bool(answer)

    def construct(self, query: str, bindings=None, dataset=None) -> list:
        """Triples of a CONSTRUCT or DESCRIBE query, as pyoxigraph triples."""
        triples = self._run(query, bindings, dataset)
        if not isinstance(triples, ox.QueryTriples):
            raise BadRequest("expected a CONSTRUCT or DESCRIBE query")
        return list(triples)

    def __len__(self) -> int:
        return len(self.store)
