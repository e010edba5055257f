"""The live graph: the serving store, swapped only for one that loaded completely and conforms."""

import datetime
import logging
import threading
import time
from pathlib import Path

from .. import config as cfg
from ..errors import CoderefError
from ..files import fingerprint
from ..validate.conformance import check_conformance
from .builds import build_fingerprint, ensure_persisted, manifest
from .open import open_store

log = logging.getLogger(__name__)


class Holder:
    """Holds the serving store and swaps it only for one that loaded completely.

    `refresh()` (called by get_store) notices when the files of ontology/, data/ or shapes/
    change (an import, an edit, `coderef reload`) and reloads them without a restart; a
    reload that does not parse or does not conform to the shapes keeps the last good store
    serving and keeps the reason in `reload_error`.

    At the first load there is no last good graph: a persisted store (`coderef serve`)
    refuses to start on data that does not parse or conform, naming why; the in-memory
    store (development, tests) serves whatever parses, and /validate shows what is wrong."""

    def __init__(self, settings: dict):
        self.settings = settings
        self._lock = threading.Lock()
        self.store = None
        self.files: list[Path] = []
        self.seen = None  # fingerprint of the files at the last (re)load attempt
        self.checked_at = 0.0
        self.reload_error: str | None = None
        self.kind = "remote" if settings.get("SPARQL_ENDPOINT") else settings.get("STORE") or "memory"
        self.served = None  # fingerprint of the files the serving graph was loaded from
        self.loaded_at: float | None = None  # wall clock of the last swap
        self.triples: int | None = None

    def _watched(self) -> str:
        return fingerprint([*cfg.data_files(self.settings), *cfg.shape_files(self.settings)])

    def _open(self, files):
        """The store the settings ask for; a reload's must also conform."""
        if self.kind == "persisted":
            # The gate is in the build; open_store then opens that build (or the last good
            # one: it honours the refusal recorded here).
            build, problem = ensure_persisted(files, cfg.folder(self.settings, "STORE_DIR"),
                                              shapes=cfg.shape_files(self.settings))
            served = build_fingerprint(build)
            if self.store is not None and served == self.served:  # the same build: keep its handle
                self.store.stale = problem
                return self.store, served
            return open_store(self.settings), served
        store = open_store(self.settings)
        if self.kind == "memory" and self.store is not None:
            try:
                check_conformance(store.store, cfg.shape_files(self.settings), files)
            except CoderefError:
                if store.isolation is not None:
                    store.isolation.close()
                raise
        return store, None if self.kind == "remote" else fingerprint(files)

    def load(self):
        files = cfg.data_files(self.settings)
        seen = self._watched()
        store, served = self._open(files)  # raises before the swap on any error
        swap = store is not self.store
        triples = None
        if swap and self.kind == "persisted":  # counted when built: 0.4 s a worker at 1M saved
            triples = manifest(Path(store.source[1])).get("triples")
        if swap and self.kind != "remote" and triples is None:
            triples = len(store)
        with self._lock:
            if swap:
                self.store = store
                self.files = files
                self.served = served
                self.loaded_at = time.time()
                self.triples = triples
            self.seen = seen
            self.checked_at = time.monotonic()
            self.reload_error = getattr(store, "stale", None)
        return store

    def refresh(self):
        """Reload if the files changed since the last attempt, looking at most once every
        RELOAD_INTERVAL seconds (a stat of each file: cheap beside a request)."""
        interval = float(self.settings.get("RELOAD_INTERVAL") or 0)
        if interval <= 0 or self.settings.get("SPARQL_ENDPOINT"):
            return  # a remote endpoint's data is loaded with `coderef load`, not from files
        now = time.monotonic()
        if now - self.checked_at < interval or not self._lock.acquire(blocking=False):
            return
        try:
            self.checked_at = now
            try:
                seen = self._watched()
            except OSError:  # a file vanished between listing and stat: look again next time
                return
            if seen == self.seen:
                return
            self.seen = seen  # one attempt per change, not one per request
        finally:
            self._lock.release()
        try:
            self.load()
        except CoderefError as err:
            self.reload_error = err.message
            log.warning("reload failed, the last good graph keeps serving: %s", err.message)

    def status(self) -> dict:
        """What serves and whether the last reload failed (GET /api/status)."""
        with self._lock:
            loaded = self.loaded_at
            return {
                "store": self.kind,
                "triples": self.triples,
                "fingerprint": self.served,
                "loaded_at": None if loaded is None else
                datetime.datetime.fromtimestamp(loaded, datetime.timezone.utc).isoformat(timespec="milliseconds"),
                "reload_interval": float(self.settings.get("RELOAD_INTERVAL") or 0),
                "reload_error": self.reload_error,
                # questions answered from the build's reports (server/reports/), not as SPARQL
                "reports": sorted(getattr(getattr(self.store, "reports", None), "questions", ())),
            }
