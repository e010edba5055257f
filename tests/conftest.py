"""Fixtures: the real app over the real data, a client and a CLI runner."""

import shutil
from pathlib import Path

import pytest

from server import create_app
from server.config import REPO_ROOT

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def app():
    """The application over the shipped reference, on the embedded store."""
    app = create_app({"TESTING": True})
    yield app


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
