"""Writing a file so that readers, and a crash at any point, see the old file or the whole
new one, never a mix: the one way coderef writes data, modules and caches."""

import os
import tempfile
from pathlib import Path


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
