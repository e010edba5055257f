"""Opening the store the settings ask for: remote, embedded in memory, or a persisted build."""

import pyoxigraph as ox

from .. import config as cfg
from ..errors import ConfigError
from ..rdf.parsing import load_store
from ..reports import LazyReports
from ..store.embedded import EmbeddedStore
from .builds import ensure_persisted, ensure_reports

STORE_KINDS = ("memory", "persisted")


def open_store(settings: dict | None = None, progress=None):
    """The store the settings ask for: remote when SPARQL_ENDPOINT is set, else embedded,
    in memory or persisted (STORE)."""
    settings = cfg.resolve(settings)
    if settings.get("SPARQL_ENDPOINT"):
        from ..store.remote import RemoteStore  # noqa: PLC0415 (SPARQLWrapper only when used)

        return RemoteStore(settings)
    kind = settings.get("STORE") or "memory"
    if kind not in STORE_KINDS:
        raise ConfigError(f"STORE is {kind!r}; use one of {', '.join(STORE_KINDS)}")
    files = cfg.data_files(settings)
    queries = cfg.folder(settings, "QUERIES_DIR")
    if kind == "persisted":
        build, stale = ensure_persisted(files, cfg.folder(settings, "STORE_DIR"), progress,
                                        shapes=cfg.shape_files(settings))
        store = EmbeddedStore(ox.Store.read_only(str(build)), settings, read_only=True, stale=stale,
                              source=("persisted", build))
        if settings.get("REPORTS"):
            store.reports = ensure_reports(build, store.store, queries, progress)
        return store
    store = EmbeddedStore(load_store(files, progress), settings, source=("files", files))
    if settings.get("REPORTS"):
        store.reports = LazyReports(store.store, queries)
    return store
