"""Load the reference's Turtle files into a store: one place that opens it.

Like the Flask tutorial's db.py: `get_store()` hands out the application's store and
`init_app(app)` registers it. A failed (re)load raises DataError naming file and line and
leaves the previously loaded store serving.
"""

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from . import config as cfg
from .errors import CoderefError, DataError

log = logging.getLogger(__name__)

_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
}


def rdf_format(path: Path):
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise DataError(path, None, f"unknown RDF file type {path.suffix!r}; use one of {', '.join(_FORMATS)}") from None


def parse_file(path) -> list:
    """Every quad of one file, or DataError with the file and the line of the first error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "no such file")
    try:
        return list(ox.parse(path=str(path), format=rdf_format(path)))
    except SyntaxError as err:
        message = str(err)
        # pyoxigraph appends "(file, line N)"; the DataError prefix already says it.
        message = message.split(f" ({path.name}, line")[0]
        raise DataError(path, err.lineno, message) from None
    except UnicodeDecodeError as err:
        raise DataError(path, None, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(path, None, err.strerror or str(err)) from None


def parse_files(paths, progress=None) -> list:
    """All quads of all files, checked before anything is loaded anywhere."""
    quads = []
    paths = list(paths)
    for n, path in enumerate(paths, 1):
        quads.extend(parse_file(path))
        if progress:
            progress(n, len(paths), path)
    return quads


def load_store(paths, progress=None) -> ox.Store:
    """A new in-memory Oxigraph store holding every file of `paths`."""
    store = ox.Store()
    store.bulk_extend(parse_files(paths, progress))
    return store


# ------------------------------------------------------------------ persisted store
#
# STORE_DIR holds one directory per build, named by the fingerprint of the files it was
# built from, and CURRENT, a one-line file naming the build in use. A build goes into a
# hidden temporary directory and is renamed into place only once complete, then CURRENT
# is replaced atomically: a killed or failed build leaves the last good store in use.

MANIFEST = "coderef-manifest.json"
KEEP_BUILDS = 2  # the current build and the one before it (workers may still hold it open)


def fingerprint(paths) -> str:
    """Changes whenever a file is added, removed, resized or touched (or the engine changes)."""
    digest = hashlib.sha256(f"pyoxigraph {ox.__version__}\n".encode())
    for path in sorted(Path(p) for p in paths):
        stat = path.stat()
        digest.update(f"{path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def current_build(store_dir: Path) -> Path | None:
    """The build CURRENT names, if it is complete."""
    try:
        name = (store_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    build = store_dir / name
    return build if name and (build / MANIFEST).is_file() else None


def build_fingerprint(build: Path) -> str | None:
    try:
        return json.loads((build / MANIFEST).read_text(encoding="utf-8"))["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


def _point_current(store_dir: Path, name: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=store_dir, prefix=".CURRENT.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(name + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, store_dir / "CURRENT")


def _sweep(store_dir: Path, keep: set) -> None:
    """Remove unfinished builds and all but the last KEEP_BUILDS complete ones."""
    builds = []
    for entry in store_dir.iterdir():
        if not entry.is_dir() or entry.name in keep:
            continue
        if entry.name.startswith(".build-") or not (entry / MANIFEST).is_file():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            builds.append(entry)
    builds.sort(key=lambda b: (b / MANIFEST).stat().st_mtime, reverse=True)
    for stale in builds[max(KEEP_BUILDS - len(keep), 0):]:
        shutil.rmtree(stale, ignore_errors=True)


def build_persisted(paths, store_dir, progress=None) -> Path:
    """Parse every file (DataError names file and line), write them to a new on-disk store
    in a temporary directory, rename it into place and make it CURRENT. Returns the build."""
    paths = list(paths)
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(paths)
    quads = parse_files(paths, progress)  # before touching the disk: a bad file changes nothing
    tmp = Path(tempfile.mkdtemp(dir=store_dir, prefix=".build-"))
    try:
        store = ox.Store(str(tmp))
        store.bulk_extend(quads)
        store.flush()
        store.optimize()
        triples = len(store)
        del store  # closes the database before it is renamed
        manifest = {"fingerprint": fp, "triples": triples, "engine": f"pyoxigraph {ox.__version__}",
                    "files": [str(p) for p in paths]}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        build = store_dir / fp
        if build.exists():  # an earlier build of the same files that CURRENT no longer names
            shutil.rmtree(build)
        os.replace(tmp, build)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_current(store_dir, build.name)
    return build


class _BuildLock:
    """One builder at a time per store directory, across processes."""

    def __init__(self, store_dir: Path):
        store_dir.mkdir(parents=True, exist_ok=True)
        self.path = store_dir / ".lock"

    def __enter__(self):
        self.file = open(self.path, "a+")  # noqa: SIM115 (held until __exit__)
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def ensure_persisted(paths, store_dir, progress=None) -> tuple[Path, str | None]:
    """The build matching the files, rebuilt only when they changed. Returns (build, problem):
    when a rebuild fails and an older build exists, that build and the reason (file and
    line) it is stale; with no older build the DataError is raised."""
    paths = list(paths)
    store_dir = Path(store_dir)
    fp = fingerprint(paths)
    build = current_build(store_dir)
    if build is not None and build_fingerprint(build) == fp:
        return build, None
    with _BuildLock(store_dir):
        build = current_build(store_dir)  # another process may have built it meanwhile
        if build is not None and build_fingerprint(build) == fp:
            return build, None
        kept = store_dir / fp
        if kept.is_dir() and build_fingerprint(kept) == fp:  # the files went back to a kept build
            _point_current(store_dir, fp)
            return kept, None
        try:
            fresh = build_persisted(paths, store_dir, progress)
        except DataError as err:
            if build is None:
                raise
            log.warning("kept the last good store %s: %s", build, err)
            return build, str(err)
        _sweep(store_dir, keep={fresh.name})
        return fresh, None


class Holder:
    """Holds the serving store and swaps it only for one that loaded completely.

    `refresh()` (called by get_store) notices when the files of ontology/ and data/ change
    (an import, an edit) and reloads them without a restart; a reload that fails keeps the
    last good store serving and keeps the reason in `reload_error`."""

    def __init__(self, settings: dict):
        self.settings = settings
        self._lock = threading.Lock()
        self.store = None
        self.files: list[Path] = []
        self.seen = None  # fingerprint of the files at the last (re)load attempt
        self.checked_at = 0.0
        self.reload_error: str | None = None

    def load(self):
        from .stores import open_store

        files = cfg.data_files(self.settings)
        seen = fingerprint(files)
        store = open_store(self.settings)  # raises before the swap on any error
        with self._lock:
            self.store = store
            self.files = files
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
                seen = fingerprint(cfg.data_files(self.settings))
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


def init_app(app):
    holder = Holder(app.config)
    holder.load()
    app.extensions["coderef.graph"] = holder


def get_store():
    """The store of the current application."""
    from flask import current_app

    holder = current_app.extensions["coderef.graph"]
    holder.refresh()
    return holder.store
