"""coderef: an open knowledge-graph reference for medical billing codes."""

__all__ = ["create_app"]


def __getattr__(name):
    """`from server import create_app` without importing Flask for everything under server/:
    a query process (server/store/isolation.py) starts in a fresh interpreter and needs only the
    store, so it is up in a fraction of the time."""
    if name == "create_app":
        from .web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
