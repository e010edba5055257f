"""coderef: an open knowledge-graph reference for medical billing codes."""

from .app import create_app

__all__ = ["create_app"]
