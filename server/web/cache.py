"""Answers kept per worker for the graph they were computed from.

The reference is read-only between reloads, and people ask the same things (the 0584T page,
its bundled services) over and over: a worker answers a repeat from memory in well under a
millisecond instead of running the queries and the diagram layout again. An entry belongs to
one store object; when a reload swaps the store the whole cache is dropped, so an answer is
never older than the graph that serves. Only 200s are kept: errors, time-outs and refusals
are computed every time. Every kept answer carries an ETag, so a client that asks again with
If-None-Match gets a 304 without the body.

Not used over a remote endpoint (`coderef load` changes its data behind our back) nor with
CACHE_MB = 0. The day is part of the key: questions whose `as_of` defaults to today change
answer at midnight. /changes reads git tags, which no reload tracks: never kept.
"""

import datetime
import hashlib
import threading
import weakref
from collections import OrderedDict

from flask import Flask, Response, g, request

# Paths whose answer depends on more than the graph and the request.
UNCACHED_PREFIXES = ("/changes", "/api/changes", "/api/status")
# A POST is kept only where it is a read-only query.
CACHED_POSTS = ("/sparql",)
# The request headers an answer depends on (content negotiation; absolute links).
VARY = ("Accept", "Content-Type")


class ResponseCache:
    """A least-recently-used map of request key -> (body, headers), bounded in bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._store = None  # weak reference to the store the entries came from
        self.hits = self.misses = 0

    def _sync(self, store) -> None:
        """Forget everything when the serving store is not the one the entries came from."""
        if self._store is None or self._store() is not store:
            self._entries.clear()
            self._bytes = 0
            self._store = weakref.ref(store)

    def get(self, store, key):
        with self._lock:
            self._sync(store)
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0], entry[1]

    def put(self, store, key, body: bytes, headers: list) -> None:
        size = len(body) + sum(len(k) + len(v) for k, v in headers) + sum(map(len, key))
        if size > self.max_bytes // 8:
            return  # one answer may not push out most of the others
        with self._lock:
            self._sync(store)
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[key] = (body, headers, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)


def _today() -> str:
    return datetime.date.today().isoformat()


def _key(req) -> tuple | None:
    """What the answer depends on, or None when it must not be kept."""
    if req.path.startswith(UNCACHED_PREFIXES):
        return None
    if req.method in ("GET", "HEAD"):
        body = ""
    elif req.method == "POST" and req.path in CACHED_POSTS:
        body = hashlib.sha256(req.get_data(cache=True)).hexdigest()
    else:
        return None
    return (_today(), req.host, req.full_path, body,
            *(req.headers.get(name, "") for name in VARY))


def _holder(app: Flask):
    holder = app.extensions["coderef.graph"]
    holder.refresh()  # a changed file set reloads (and so empties the cache) before a lookup
    return holder


def init_app(app: Flask) -> None:
    megabytes = float(app.config.get("CACHE_MB") or 0)
    if megabytes <= 0 or app.config.get("SPARQL_ENDPOINT"):
        return
    cache = ResponseCache(int(megabytes * 1024 * 1024))
    app.extensions["coderef.cache"] = cache

    @app.before_request
    def answer_from_cache():
        key = _key(request)
        if key is None:
            return None
        store = _holder(app).store
        g.cache_key, g.cache_store = key, store
        kept = cache.get(store, key)
        if kept is None:
            return None
        body, headers = kept
        g.cache_key = None  # already kept
        response = Response(body, status=200, headers=headers)
        response.headers["X-Coderef-Cache"] = "hit"
        return response.make_conditional(request)

    @app.after_request
    def keep_answer(response: Response):
        key = g.pop("cache_key", None)
        store = g.pop("cache_store", None)
        if key is None or response.status_code != 200 or response.is_streamed:
            return response
        if "Set-Cookie" in response.headers or "no-store" in (response.headers.get("Cache-Control") or ""):
            return response
        response.add_etag()
        # Clients may keep it but must ask again (a reload changes the answer); the ETag
        # makes asking again cheap.
        response.headers.setdefault("Cache-Control", "no-cache")
        response.headers["X-Coderef-Cache"] = "miss"
        cache.put(store, key, response.get_data(), list(response.headers.items()))
        return response.make_conditional(request)
