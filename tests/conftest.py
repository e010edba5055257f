"""Fixtures: the real app over the real data, a client and a CLI runner."""

import shutil
from pathlib import Path

import pytest

from support.oxigraph_server import OxigraphServer
from server import create_app
from server.cli import main as coderef
from server.config import REPO_ROOT

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def oxigraph_endpoint(tmp_path_factory):
    """A real Oxigraph server on 127.0.0.1 holding the shipped reference, loaded by
    `coderef load`; its query URL. Stopped at the end of the session."""
    with OxigraphServer(tmp_path_factory.mktemp("oxigraph") / "store") as server:
        if coderef(["load", "--endpoint", server.query_url]) != 0:
            raise RuntimeError("coderef load failed: see the captured stderr")
        yield server.query_url


@pytest.fixture(scope="session", params=["embedded", "remote"])
def backend(request) -> str:
    """Every test using `app` (or `client`, `store`) runs over both stores.
    Mark a test `@pytest.mark.embedded_only` when it writes or reloads."""
    return request.param


@pytest.fixture(scope="session")
def app(backend, request):
    """The application over the shipped reference, on the embedded store or on a real
    Oxigraph server."""
    config = {"TESTING": True}
    if backend == "remote":
        config["SPARQL_ENDPOINT"] = request.getfixturevalue("oxigraph_endpoint")
    app = create_app(config)
    yield app


def pytest_collection_modifyitems(config, items):
    embedded_only = [
        item for item in items
        if getattr(item, "callspec", None) and item.callspec.params.get("backend") == "remote"
        and item.get_closest_marker("embedded_only")
    ]
    if embedded_only:
        config.hook.pytest_deselected(items=embedded_only)
        dropped = set(map(id, embedded_only))
        items[:] = [item for item in items if id(item) not in dropped]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["coderef.graph"].store


@pytest.fixture
def root_copy(tmp_path, repo_root) -> Path:
    """A writable copy of ontology/, data/, shapes/ and queries/ to break in a test."""
    for name in ("ontology", "data", "shapes", "queries"):
        src = repo_root / name
        if src.exists():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("modules"))
    return tmp_path
