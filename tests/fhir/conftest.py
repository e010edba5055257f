"""Fixtures for the FHIR tests: the real app on the embedded store, and its client."""

import pytest

from server import create_app


@pytest.fixture(scope="module")
def fhir_app():
    return create_app({"TESTING": True})


@pytest.fixture(scope="module")
def fhir_client(fhir_app):
    return fhir_app.test_client()
