"""Persisted builds: the reference as an on-disk Oxigraph store, rebuilt atomically when its files change.

STORE_DIR holds one directory per build, named by the fingerprint of the files it was
built from, and CURRENT, a one-line file naming the build in use. A build goes into a
hidden temporary directory and is renamed into place only once complete (and, given
shapes, conforming), then CURRENT is replaced atomically: a killed or failed build leaves
the last good store in use. REFUSED records the files last refused and why, so that the
other workers (and `coderef serve` at its next start) keep the last good build without
parsing and validating the same files again.

Also the reports (server/reports/) kept beside each build.
"""

import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from .. import reports
from ..errors import DataError, NotConforming
from ..files import fingerprint, write_atomically
from ..rdf.dataset import drop_repeats, graph_names, in_graph
from ..rdf.parsing import parse_each
from ..validate.conformance import check_conformance

log = logging.getLogger(__name__)

MANIFEST = "coderef-manifest.json"
REFUSED = "REFUSED"
KEEP_BUILDS = 2  # the current build and the one before it (workers may still hold it open)


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
    files = parse_each(paths, progress)  # before touching the disk: a bad file changes nothing
    if shapes is not None:
        check_conformance(_in_memory(q for quads in files for q in quads), shapes, paths, progress)
    tmp = Path(tempfile.mkdtemp(dir=store_dir, prefix=".build-"))
    try:
        store = ox.Store(str(tmp))
        graphs = graph_names(paths)
        for path, quads in zip(paths, files):  # each file in its graph (server/rdf/dataset.py)
            store.bulk_extend(in_graph(quads, graphs[Path(path)]))
        repeats = drop_repeats(store, [graphs[Path(p)] for p in paths], [len(q) for q in files])
        del files
        store.flush()
        store.optimize()
        triples = len(store)
        del store  # closes the database before it is renamed
        record = {"fingerprint": fp, "triples": triples, "engine": f"pyoxigraph {ox.__version__}",
                  "files": [str(p) for p in paths],
                  "graphs": {str(p): graphs[Path(p)].value for p in paths},
                  # triples a later file repeats, kept in the first file's graph only
                  "repeats": repeats,
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
    try:  # the checks read the default graph: the files' graphs merged into it
        copy = _in_memory(ox.Quad(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, None))
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
