"""Load the reference's Turtle files into a store: one place that opens it.

Like the Flask tutorial's db.py: `get_store()` hands out the application's store and
`init_app(app)` registers it. A failed (re)load raises DataError naming file and line and
leaves the previously loaded store serving.
"""

import threading
from pathlib import Path

import pyoxigraph as ox

from . import config as cfg
from .errors import DataError

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


class Holder:
    """Holds the serving store and swaps it only for one that loaded completely."""

    def __init__(self, settings: dict):
        self.settings = settings
        self._lock = threading.Lock()
        self.store = None
        self.files: list[Path] = []

    def load(self):
        from .stores import open_store

        store = open_store(self.settings)  # raises before the swap on any error
        with self._lock:
            self.store = store
            self.files = cfg.data_files(self.settings)
        return store


def init_app(app):
    holder = Holder(app.config)
    holder.load()
    app.extensions["coderef.graph"] = holder


def get_store():
    """The store of the current application."""
    from flask import current_app

    return current_app.extensions["coderef.graph"].store
