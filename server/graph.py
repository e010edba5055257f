"""Load the reference's Turtle files into a store: one place that opens it.

Like the Flask tutorial's db.py: `get_store()` hands out the application's store and
`init_app(app)` registers it. A failed (re)load raises DataError naming file and line (or,
for data that breaks a shape, NotConforming naming shape, node and file) and leaves the
previously loaded store serving.
"""

import datetime
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
from .errors import CoderefError, DataError, NotConforming
from .files import write_atomically

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
    """A new in-memory Oxigraph store holding every file of `paths`, each parsed and loaded
    inside Oxigraph: no Python object per triple (at 1M triples 4.8 s, against 6.5 s for
    parse_files then bulk_extend). A file Oxigraph cannot read is read again by parse_file
    for its DataError (file, line); the store, half filled, is dropped with the error, so
    nothing is loaded anywhere."""
    store = ox.Store()
    paths = list(paths)
    for n, path in enumerate(paths, 1):
        path = Path(path)
        if not path.is_file():
            raise DataError(path, None, "no such file")
        try:
            store.bulk_load(path=str(path), format=rdf_format(path))
        except (SyntaxError, UnicodeDecodeError, OSError):
            parse_file(path)  # raises the DataError naming the line
            raise
        if progress:
            progress(n, len(paths), path)
    return store


# ------------------------------------------------------------------ conformance
#
# A reload, `coderef reload` and every build made for `coderef serve` take only data that
# conforms to shapes/: a violation (never a warning or a note) keeps the last good graph.


SHOWN_VIOLATIONS = 3  # in a message; `coderef validate` gives the full report


def check_conformance(store: ox.Store, shapes, paths=(), progress=None) -> None:
    """Raise NotConforming naming shape, focus node and file of the first violations when
    the graph in `store` (ontology and data) breaks one of `shapes`. No shapes: nothing to
    break."""
    shapes = list(shapes)
    if not shapes:
        return
    from .stores import EmbeddedStore
    from .validation import validate

    report = validate(shape_paths=shapes, store=EmbeddedStore(store, {"QUERY_ISOLATION": False}),
                      progress=progress)
    violations = [r for r in report.results if r["severity"] == "Violation"]
    if not violations:
        return
    shown = violations[:SHOWN_VIOLATIONS]
    where = _files_stating(paths, {r["focus"] for r in shown})
    parts = []
    for r in shown:
        files = ", ".join(where.get(r["focus"], [])) or "file unknown"
        shape = r["shape"].rsplit("#", 1)[-1] if r["shape"] else r["shape_label"]
        parts.append(f"{files}: <{r['focus']}> breaks {shape}: {r['message'].rstrip('. ')}")
    more = len(violations) - len(shown)
    count = f"{len(violations)} violation" + ("" if len(violations) == 1 else "s")
    raise NotConforming(f"the data does not conform to the shapes ({count}): " + "; ".join(parts)
                        + (f"; and {more} more" if more else "") + ". Run `coderef validate` for the full report.")


def _files_stating(paths, focus_iris) -> dict:
    """{focus IRI: [files with a triple about it]}, as folder/name. Read again only to word
    a refusal, so the load itself keeps no per-file index."""
    wanted = set()
    for iri in focus_iris:
        try:
            wanted.add(ox.NamedNode(iri))
        except ValueError:  # a blank node: no name to look for
            continue
    found: dict = {}
    for path in map(Path, paths):
        try:
            quads = ox.parse(path=str(path), format=rdf_format(path))
            subjects = {q.subject for q in quads if q.subject in wanted}
        except (SyntaxError, OSError, DataError):
            continue
        for subject in subjects:
            found.setdefault(subject.value, []).append(f"{path.parent.name}/{path.name}")
    return found


# ------------------------------------------------------------------ persisted store
#
# STORE_DIR holds one directory per build, named by the fingerprint of the files it was
# built from, and CURRENT, a one-line file naming the build in use. A build goes into a
# hidden temporary directory and is renamed into place only once complete (and, given
# shapes, conforming), then CURRENT is replaced atomically: a killed or failed build leaves
# the last good store in use. REFUSED records the files last refused and why, so that the
# other workers (and `coderef serve` at its next start) keep the last good build without
# parsing and validating the same files again.

MANIFEST = "coderef-manifest.json"
REFUSED = "REFUSED"
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


def manifest(build: Path) -> dict:
    try:
        return json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build_fingerprint(build: Path) -> str | None:
    return manifest(build).get("fingerprint")


def _point_current(store_dir: Path, name: str) -> None:
    write_atomically(store_dir / "CURRENT", [name + "\n"], prefix=".CURRENT.")


def _refusal(store_dir: Path, fp: str, shapes_fp: str | None) -> str | None:
    """Why the files with fingerprint `fp` were refused, if they were: a parse error stands
    whatever the shapes; a violation stands for the shapes it was found with (a caller
    without shapes takes it as it is)."""
    try:
        record = json.loads((store_dir / REFUSED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fp:
        return None
    if shapes_fp and record.get("shapes") not in (None, shapes_fp):
        return None
    return record.get("reason")


def _sweep(store_dir: Path, keep: set) -> None:
    """Remove unfinished builds, the temporary files of killed writes, and all but the last
    KEEP_BUILDS complete builds. Called with the build lock held."""
    builds = []
    for entry in store_dir.iterdir():
        if entry.name.startswith((".CURRENT.", f".{REFUSED}.")) and entry.is_file():
            entry.unlink(missing_ok=True)
        if not entry.is_dir() or entry.name in keep:
            continue
        if entry.name.startswith(".build-") or not (entry / MANIFEST).is_file():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            builds.append(entry)
    builds.sort(key=lambda b: (b / MANIFEST).stat().st_mtime, reverse=True)
    for stale in builds[max(KEEP_BUILDS - len(keep), 0):]:
        shutil.rmtree(stale, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def build_persisted(paths, store_dir, progress=None, shapes=None) -> Path:
    """Parse every file (DataError names file and line), write them to a new on-disk store
    in a temporary directory, check it against `shapes` when given (NotConforming), rename
    it into place and make it CURRENT. Returns the build."""
    paths = list(paths)
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(paths)
    quads = parse_files(paths, progress)  # before touching the disk: a bad file changes nothing
    if shapes is not None:
        check_conformance(_in_memory(quads), shapes, paths, progress)
    tmp = Path(tempfile.mkdtemp(dir=store_dir, prefix=".build-"))
    try:
        store = ox.Store(str(tmp))
        store.bulk_extend(quads)
        del quads
        store.flush()
        store.optimize()
        triples = len(store)
        del store  # closes the database before it is renamed
        record = {"fingerprint": fp, "triples": triples, "engine": f"pyoxigraph {ox.__version__}",
                  "files": [str(p) for p in paths],
                  # the shapes it was found to conform to (None: not checked)
                  "conforms_to": fingerprint(shapes) if shapes is not None else None}
        (tmp / MANIFEST).write_text(json.dumps(record, indent=1), encoding="utf-8")
        # mkdtemp made the folder 0700: give it the mode a plain mkdir would (the umask's), so
        # that workers running as another user can open the build read-only.
        os.chmod(tmp, 0o777 & ~_umask())
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
    """One builder at a time per store directory, across processes (flock: the kernel
    releases it when a builder dies, so a killed build leaves no stale lock)."""

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


def _in_memory(quads) -> ox.Store:
    """A copy to validate: the checks ran 5-8x slower on a fresh on-disk store (measured at
    100k triples: 10-15 s against 1.8 s)."""
    store = ox.Store()
    store.bulk_extend(quads)
    return store


def _conforming(build: Path, shapes, shapes_fp: str, progress=None) -> None:
    """Check a build made without shapes (or against other shapes) and note it in its
    manifest; NotConforming if it breaks one."""
    store = ox.Store.read_only(str(build))
    try:
        copy = _in_memory(store.quads_for_pattern(None, None, None, None))
    finally:
        del store
    check_conformance(copy, shapes, manifest(build).get("files", []), progress)
    record = {**manifest(build), "conforms_to": shapes_fp}
    write_atomically(build / MANIFEST, [json.dumps(record, indent=1)], prefix=f".{MANIFEST}.")


def _last_conforming(store_dir: Path, shapes_fp: str, but: str) -> Path | None:
    builds = [b for b in store_dir.iterdir() if b.is_dir() and b.name != but
              and not b.name.startswith(".") and manifest(b).get("conforms_to") == shapes_fp]
    return max(builds, key=lambda b: (b / MANIFEST).stat().st_mtime, default=None)


def ensure_persisted(paths, store_dir, progress=None, shapes=None, keep_last_good=True) -> tuple[Path, str | None]:
    """The build matching the files, rebuilt only when they changed. Returns (build, problem):
    when a rebuild fails and an older build exists, that build and the reason (file and
    line, or the violations) it is stale; with no older build the error is raised.

    `shapes`: the build must conform to them; one made without them is checked once.
    `keep_last_good=False` (`coderef reload`): look again at files refused before and raise
    every error, still changing nothing."""
    paths = list(paths)
    store_dir = Path(store_dir)
    fp = fingerprint(paths)
    shapes_fp = fingerprint(shapes) if shapes is not None else None

    def ready(build):
        return (build is not None and build_fingerprint(build) == fp
                and (shapes_fp is None or manifest(build).get("conforms_to") == shapes_fp))

    build = current_build(store_dir)
    if ready(build):
        return build, None
    if build is not None and keep_last_good and (reason := _refusal(store_dir, fp, shapes_fp)):
        return build, reason
    with _BuildLock(store_dir):
        build = current_build(store_dir)  # another process may have built it meanwhile
        if ready(build):
            return build, None
        if build is not None and keep_last_good and (reason := _refusal(store_dir, fp, shapes_fp)):
            return build, reason
        try:
            if build is not None and build_fingerprint(build) == fp:
                # built for these files without (these) shapes: `coderef serve`'s first build,
                # or the shapes changed. If it breaks them, the last build that conformed serves.
                _conforming(build, shapes, shapes_fp, progress)
                return build, None
            kept = store_dir / fp
            if kept.is_dir() and ready(kept):  # the files went back to a kept build
                _point_current(store_dir, fp)
                return kept, None
            fresh = build_persisted(paths, store_dir, progress, shapes)
        except (DataError, NotConforming) as err:
            if build is not None and build_fingerprint(build) == fp:
                build = _last_conforming(store_dir, shapes_fp, but=build.name)
                if build is not None:
                    _point_current(store_dir, build.name)
            parse_error = isinstance(err, DataError)
            if build is not None:  # recorded only beside a build to keep
                write_atomically(store_dir / REFUSED, [json.dumps({
                    "fingerprint": fp, "shapes": None if parse_error else shapes_fp, "reason": str(err)})],
                    prefix=f".{REFUSED}.")
            if build is None or not keep_last_good:
                raise
            log.warning("kept the last good store %s: %s", build, err)
            return build, str(err)
        (store_dir / REFUSED).unlink(missing_ok=True)
        _sweep(store_dir, keep={fresh.name})
        return fresh, None


def ensure_reports(build: Path, store: ox.Store, queries_dir: Path, progress=None):
    """The reports (server/reports/) of a build, made beside it once per build and set of
    questions, one maker at a time. None when they cannot be made (a build folder this
    process may not write, a failing report): the questions then run as SPARQL."""
    from . import reports  # noqa: PLC0415

    path = Path(build) / reports.FILE
    try:
        if not reports.current(path, queries_dir):
            with _BuildLock(Path(build).parent):
                if not reports.current(path, queries_dir):
                    started = time.monotonic()
                    reports.make(store, path, queries_dir, progress)
                    log.info("made the reports of %s in %.1f s", build, time.monotonic() - started)
        return reports.Reports(path, queries_dir)
    except Exception as err:  # noqa: BLE001 (the SPARQL answers the same, only slower)
        log.warning("the reports of %s could not be made, their questions run as SPARQL: %s", build, err)
        return None


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
        from .stores import open_store

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
