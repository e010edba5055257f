"""Files written atomically and fingerprinted: how coderef writes and watches its files.

A file is written so that readers, and a crash at any point, see the old file or the whole
new one, never a mix (the one way coderef writes data, modules and caches); a set of files
is fingerprinted so that a change to it is noticed by a stat.
"""

import hashlib
import os
import tempfile
from pathlib import Path

import pyoxigraph as ox


def fingerprint(paths) -> str:
    """Changes whenever a file is added, removed, resized or touched (or the engine changes).
    A file that is not there counts as missing: whoever reads it next says so."""
    digest = hashlib.sha256(f"pyoxigraph {ox.__version__}\n".encode())
    for path in sorted(Path(p) for p in paths):
        try:
            stat = path.stat()
            digest.update(f"{path.resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\tmissing\n".encode())
    return digest.hexdigest()[:20]


def write_atomically(path, chunks, prefix: str | None = None) -> None:
    """Write the text `chunks` to a temporary file in the same folder (same filesystem, so
    the rename is atomic), flush it to disk, rename it over `path`, then sync the folder so
    the rename itself survives a crash. An existing file keeps its mode; a new one gets 0644
    (mkstemp would give 0600, and workers may run as another user than the writer)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
