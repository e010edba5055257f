"""The embedded backend: Oxigraph in-process, or (QUERY_ISOLATION) in query processes that can be killed.

The store answers as OxigraphStore does. With QUERY_ISOLATION on and a `source` to open
again (("persisted", build) or ("files", paths)), every query is handed to a child process
holding the same data (server/store/isolation.py), killed past QUERY_TIMEOUT.
"""

from .isolation import QueryProcesses
from .oxigraph import OxigraphStore
from .result import Result


class EmbeddedStore(OxigraphStore):
    """Oxigraph in-process (measured: ~10x rdflib Memory on load, 20x+ on queries)."""

    def __init__(self, store, settings: dict | None = None, read_only: bool = False,
                 stale: str | None = None, source=None):
        super().__init__(store, settings, read_only=read_only, stale=stale, source=source)
        self.isolation = None
        if source is not None and self.settings.get("QUERY_ISOLATION"):
            self.isolation = QueryProcesses(source, self.settings)

    def select(self, query: str, bindings=None, cap: int | None = None, dataset=None) -> Result:
        if self.isolation is None:
            return super().select(query, bindings, cap, dataset)
        cap = self.settings["RESULT_CAP"] if cap is None else cap
        return self.isolation.run("select", query, bindings, cap, dataset)

    def ask(self, query: str, bindings=None, dataset=None) -> bool:
        if self.isolation is None:
            return super().ask(query, bindings, dataset)
        return self.isolation.run("ask", query, bindings, dataset=dataset)

    def construct(self, query: str, bindings=None, dataset=None) -> list:
        """Triples of a CONSTRUCT or DESCRIBE query, as pyoxigraph triples."""
        if self.isolation is None:
            return super().construct(query, bindings, dataset)
        return self.isolation.run("construct", query, bindings, dataset=dataset)
