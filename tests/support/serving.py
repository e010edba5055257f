"""A real app behind a real threaded HTTP server on 127.0.0.1 (a free port), for tests that
need a socket: SPARQLWrapper, concurrent clients, a browser."""

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def served(app):
    """The base URL (no trailing slash) while the server runs; stopped on exit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
