"""`coderef load`'s work: the reference parsed here, then sent to a SPARQL endpoint.

Each file into a named graph of its own, as the embedded store holds them (the remote store
asks for their union as the default graph: server/store/remote.py), or all into one graph. By
the Graph Store Protocol when its URL is known (Oxigraph's /store beside /query), else by
SPARQL Update, sent where the endpoint's dialect says (server/store/dialect.py: Virtuoso's
/sparql-auth); nothing is sent if any file fails to parse.
"""

import base64
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox

from .. import config as cfg
from ..errors import ConfigError, StoreUnavailable
from ..rdf.dataset import GRAPH_BASE, graph_names
from ..rdf.parsing import load_store
from ..sparql.dataset import GRAPHS
from .dialect import dialect_of

# `graph` for one graph per file (the default): server/rdf/dataset.py.
FILES = "files"


def sibling(url: str, name: str) -> str | None:
    """Oxigraph's layout: /query, /update and /store side by side."""
    parts = urllib.parse.urlsplit(url)
    if not parts.path.endswith("/query"):
        return None
    return urllib.parse.urlunsplit(parts._replace(path=parts.path[: -len("query")] + name, query=""))


def _auth_headers(settings: dict) -> dict:
    if not settings.get("SPARQL_USER"):
        return {}
    pair = f"{settings['SPARQL_USER']}:{settings.get('SPARQL_PASSWORD') or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _digest_opener(url: str, settings: dict):
    """An opener answering a Digest (Virtuoso's /sparql-auth) or Basic challenge with
    SPARQL_USER/SPARQL_PASSWORD."""
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, url, settings["SPARQL_USER"], settings.get("SPARQL_PASSWORD") or "")
    return urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords),
                                       urllib.request.HTTPBasicAuthHandler(passwords))


def _send(method: str, url: str, body: bytes, content_type: str, settings: dict, timeout: float) -> None:
    headers = {"Content-Type": content_type, "User-Agent": "coderef", **_auth_headers(settings)}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as err:
            if err.code != 401 or not headers.get("Authorization"):
                raise
            del headers["Authorization"]  # Basic sent ahead was refused: answer the server's challenge
            retry = urllib.request.Request(url, data=body, method=method, headers=headers)
            with _digest_opener(url, settings).open(retry, timeout=timeout) as response:
                response.read()
    except urllib.error.HTTPError as err:
        detail = " ".join(err.read().decode("utf-8", "replace").split())[:300]
        raise StoreUnavailable(f"{method} {url} answered HTTP {err.code} {err.reason}: {detail}") from None
    except urllib.error.URLError as err:
        raise StoreUnavailable(f"{method} {url}: unreachable ({err.reason})") from None
    except (TimeoutError, socket.timeout):
        raise StoreUnavailable(f"{method} {url}: no answer within {timeout:g} s") from None


def batches(files_triples, size: int):
    """Lists of triples of at most `size`, except that a file with blank nodes goes whole:
    a blank node label means one node only within one request."""
    batch = []
    for triples in files_triples:
        has_bnodes = any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples)
        if has_bnodes:
            if batch:
                yield batch
                batch = []
            yield triples
            continue
        for triple in triples:
            batch.append(triple)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _graphs_of(settings: dict, endpoint: str) -> set[str]:
    """The endpoint's named graphs under GRAPH_BASE: those a load of each file may replace."""
    from .remote import RemoteStore  # noqa: PLC0415 (SPARQLWrapper only when used)

    rows = RemoteStore({**settings, "SPARQL_ENDPOINT": endpoint}).select(GRAPHS, cap=10**6).rows
    return {r["graph"]["value"] for r in rows if r["graph"]["value"].startswith(GRAPH_BASE)}


def load(settings: dict, endpoint: str, graph: str = FILES, via: str | None = None,
         store_url: str | None = None, update_url: str | None = None, append: bool = False,
         batch_size: int = 50_000, progress=None, parse_progress=None) -> int:
    """Parse every file of the reference, then replace (or add to) graphs of the endpoint:
    with `graph` FILES, each file's own graph (server/rdf/dataset.py: a triple a later file
    repeats is sent with the first only) and, unless appending, the graphs under GRAPH_BASE
    that no file names any more are dropped; else one graph, "default" or an IRI, for all.
    Returns the number of triples sent. Nothing is sent if any file fails to parse."""
    target = None if graph in ("default", FILES) else ox.NamedNode(graph)  # ValueError on a bad IRI
    dialect = dialect_of(settings)
    if graph == "default" and not dialect.default_graph_writable:
        raise ConfigError(f"a {dialect.name} endpoint has no default graph to write into: "
                          f"give --graph {FILES} (a graph per file, the default) or a graph IRI")
    files = cfg.data_files(settings)
    shown = (lambda n, count, path: parse_progress(n, count, Path(path).name)) if parse_progress else None
    loaded = load_store(files, shown)
    names = graph_names(files)
    # (graph sent to, a file's triples): a file at a time, its blank nodes in one request
    per_graph = [(names[Path(f)] if graph == FILES else target,
                  [q.triple for q in loaded.quads_for_pattern(None, None, None, names[Path(f)])]) for f in files]
    del loaded
    total = sum(len(t) for _, t in per_graph)

    store_url = store_url or (None if via == "update" else sibling(endpoint, "store"))
    if via == "gsp" and not store_url:
        raise ConfigError(f"cannot tell the Graph Store Protocol URL of {endpoint}: give --store URL")
    timeout = max(60.0, float(settings["QUERY_TIMEOUT"]))
    stale = set()
    if graph == FILES and not append:
        stale = _graphs_of(settings, endpoint) - {g.value for g, _ in per_graph}
    sent = 0
    if store_url:
        def url(name):
            return store_url + ("?default" if name is None else "?" + urllib.parse.urlencode({"graph": name.value}))
        replaced = set()  # PUT replaces a graph, then POST adds to it
        for name, triples in per_graph:
            if not append and not triples and name not in replaced:
                _send("PUT", url(name), b"", "application/n-triples", settings, timeout)
                replaced.add(name)
            for batch in batches([triples], batch_size):
                body = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES)
                method = "POST" if append or name in replaced else "PUT"
                _send(method, url(name), body, "application/n-triples", settings, timeout)
                replaced.add(name)
                sent += len(batch)
                if progress:
                    progress(sent, total, "triples")
        for name in sorted(stale):
            _send("DELETE", url(ox.NamedNode(name)), b"", "application/n-triples", settings, timeout)
        return sent

    update_url = update_url or sibling(endpoint, "update") or dialect.update_url(endpoint) or endpoint
    cleared = set()
    for name, triples in per_graph:
        if not append and name not in cleared:
            clear = "DEFAULT" if name is None else f"GRAPH {name}"
            _send("POST", update_url, f"CLEAR SILENT {clear}".encode(), "application/sparql-update", settings, timeout)
            cleared.add(name)
        for batch in batches([triples], batch_size):
            text = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
            data = text if name is None else f"GRAPH {name} {{\n{text}}}"
            _send("POST", update_url, f"INSERT DATA {{\n{data}}}".encode(), "application/sparql-update", settings, timeout)
            sent += len(batch)
            if progress:
                progress(sent, total, "triples")
    for name in sorted(stale):
        _send("POST", update_url, f"DROP SILENT GRAPH <{name}>".encode(), "application/sparql-update", settings, timeout)
    return sent
