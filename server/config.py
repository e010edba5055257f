"""Configuration flows one way: defaults -> environment -> the caller's mapping.

This is the only module that reads the environment.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "ROOT": str(REPO_ROOT),
    # Sub-folders of ROOT; an absolute path overrides.
    "ONTOLOGY_DIR": "ontology",
    "DATA_DIR": "data",
    "SHAPES_DIR": "shapes",
    "QUERIES_DIR": "queries",
    # None: the embedded store. A URL: the remote SPARQL 1.1 endpoint.
    "SPARQL_ENDPOINT": None,
    "SPARQL_USER": None,
    "SPARQL_PASSWORD": None,
    # How the endpoint differs from standard SPARQL 1.1 (server/store/dialect.py):
    # "standard" or "virtuoso".
    "SPARQL_DIALECT": "standard",
    # The embedded store: "memory" parses ontology/ and data/ at every start; "persisted"
    # keeps an on-disk Oxigraph store in STORE_DIR (relative to ROOT unless absolute),
    # rebuilt only when those files change and opened read-only (`coderef serve`).
    "STORE": "memory",
    "STORE_DIR": "var/store",
    "QUERY_TIMEOUT": 10.0,  # seconds
    "RESULT_CAP": 5000,  # rows
    # Seconds between checks of ontology/ and data/ for changes (an import, an edit): a
    # changed file set is reloaded without a restart. 0 or less: never reload by itself.
    "RELOAD_INTERVAL": 2.0,
    # Run embedded-store queries in child processes killed past QUERY_TIMEOUT (pyoxigraph
    # cannot cancel a query); `coderef serve` turns it on. Each child's address space is
    # capped at QUERY_MEMORY_MB; a threaded server runs up to QUERY_PROCESSES at once.
    "QUERY_ISOLATION": False,
    "QUERY_MEMORY_MB": 2048,
    "QUERY_PROCESSES": 2,
    # A query process grown by more than this (resident MB, over its size once ready) is
    # replaced by a fresh one after answering: big answers would leave it large. 0: never.
    "QUERY_PROCESS_GROWTH_MB": 100,
    # Query processes run this much nicer than the web workers: on a busy machine a long
    # query (a cross product fired at /sparql) gets the CPU left over, not half of it.
    "QUERY_NICE": 10,
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # bytes of a request body
    # Answers (200s of GET/HEAD and of read-only POST /sparql) kept per worker for the
    # graph they were computed from, up to CACHE_MB; a reload starts an empty cache.
    # 0: no cache. Never used over a remote endpoint (its data changes behind our back).
    "CACHE_MB": 64,
    # Whole-graph questions (server/reports/) answered from tables made once per build
    # instead of by running their SPARQL at each request; never over a remote endpoint.
    "REPORTS": True,
}

ENVIRONMENT = {
    "CODEREF_ROOT": "ROOT",
    "CODEREF_SPARQL_ENDPOINT": "SPARQL_ENDPOINT",
    "CODEREF_SPARQL_USER": "SPARQL_USER",
    "CODEREF_SPARQL_PASSWORD": "SPARQL_PASSWORD",
    "CODEREF_SPARQL_DIALECT": "SPARQL_DIALECT",
    "CODEREF_STORE": "STORE",
    "CODEREF_STORE_DIR": "STORE_DIR",
    "CODEREF_QUERY_TIMEOUT": "QUERY_TIMEOUT",
    "CODEREF_RESULT_CAP": "RESULT_CAP",
    "CODEREF_RELOAD_INTERVAL": "RELOAD_INTERVAL",
    "CODEREF_QUERY_ISOLATION": "QUERY_ISOLATION",
    "CODEREF_QUERY_MEMORY_MB": "QUERY_MEMORY_MB",
    "CODEREF_QUERY_PROCESSES": "QUERY_PROCESSES",
    "CODEREF_QUERY_PROCESS_GROWTH_MB": "QUERY_PROCESS_GROWTH_MB",
    "CODEREF_QUERY_NICE": "QUERY_NICE",
    "CODEREF_CACHE_MB": "CACHE_MB",
    "CODEREF_REPORTS": "REPORTS",
}


def from_environment(environ=None) -> dict:
    """Settings named in the environment, converted to the default's type."""
    environ = os.environ if environ is None else environ
    settings = {}
    for var, key in ENVIRONMENT.items():
        value = environ.get(var)
        if value in (None, ""):
            continue
        default = DEFAULTS[key]
        if isinstance(default, bool):  # before int: bool("0") would be True
            settings[key] = value.strip().lower() in ("1", "true", "yes", "on")
        else:
            settings[key] = type(default)(value) if isinstance(default, (int, float)) else value
    return settings


def for_root(root=None, environ=None) -> dict:
    """The settings of a command run over `root` (its --root): defaults -> environment ->
    ROOT. No root: CODEREF_ROOT or the repository."""
    return resolve({"ROOT": os.path.abspath(root)} if root else None, environ)


def resolve(config=None, environ=None) -> dict:
    """Defaults, then the environment, then `config`."""
    settings = dict(DEFAULTS)
    settings.update(from_environment(environ))
    settings.update(config or {})
    return settings


def folder(settings: dict, key: str) -> Path:
    """The folder a *_DIR setting names, relative to ROOT unless absolute."""
    path = Path(settings[key])
    return path if path.is_absolute() else Path(settings["ROOT"]) / path


def data_files(settings: dict) -> list[Path]:
    """The Turtle files that make the reference: the ontology, then data/ (recursively,
    so optional modules under data/modules/ load when present). data/examples/ holds
    sample inputs, not reference data."""
    files = sorted(folder(settings, "ONTOLOGY_DIR").glob("*.ttl"))
    data = folder(settings, "DATA_DIR")
    files += sorted(p for p in data.rglob("*.ttl") if "examples" not in p.relative_to(data).parts)
    return files


def shape_files(settings: dict) -> list[Path]:
    return sorted(folder(settings, "SHAPES_DIR").glob("*.ttl"))
