"""`coderef load`'s work: the reference parsed here, then sent to a SPARQL endpoint.

By the Graph Store Protocol when its URL is known (Oxigraph's /store beside /query), else
by SPARQL Update; nothing is sent if any file fails to parse. Where the endpoint's dialect
(server/store/dialect.py) takes no writes into the default graph (Virtuoso), each file goes
into a named graph of its own, whose union is the default dataset there.
"""

import base64
import socket
import urllib.error
import urllib.parse
import urllib.request

import pyoxigraph as ox

from .. import config as cfg
from ..errors import ConfigError, StoreUnavailable
from ..rdf.parsing import parse_file
from .dialect import dialect_of, file_graph


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


def batches(files_quads, size: int):
    """Lists of triples of at most `size`, except that a file with blank nodes goes whole:
    a blank node label means one node only within one request."""
    batch = []
    for quads in files_quads:
        triples = [q.triple for q in quads]
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


def load(settings: dict, endpoint: str, graph: str = "default", via: str | None = None,
         store_url: str | None = None, update_url: str | None = None, append: bool = False,
         batch_size: int = 50_000, progress=None, parse_progress=None) -> int:
    """Parse every file of the reference, then replace (or add to) one graph of the endpoint.
    Returns the number of triples sent. Nothing is sent if any file fails to parse."""
    target = None if graph == "default" else ox.NamedNode(graph)  # ValueError on a bad IRI
    files = cfg.data_files(settings)
    parsed = []
    for n, path in enumerate(files, 1):
        parsed.append(parse_file(path))
        if parse_progress:
            parse_progress(n, len(files), path.name)
    total = sum(len(q) for q in parsed)

    store_url = store_url or (None if via == "update" else sibling(endpoint, "store"))
    if via == "gsp" and not store_url:
        raise ConfigError(f"cannot tell the Graph Store Protocol URL of {endpoint}: give --store URL")
    timeout = max(60.0, float(settings["QUERY_TIMEOUT"]))
    sent = 0
    first = True
    if store_url:
        graph_url = store_url + ("?default" if target is None else "?" + urllib.parse.urlencode({"graph": target.value}))
        if not append and total == 0:
            _send("PUT", graph_url, b"", "application/n-triples", settings, timeout)
        for batch in batches(parsed, batch_size):
            body = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES)
            _send("PUT" if first and not append else "POST", graph_url, body, "application/n-triples", settings, timeout)
            first = False
            sent += len(batch)
            if progress:
                progress(sent, total, "triples")
        return sent

    dialect = dialect_of(settings)
    update_url = update_url or sibling(endpoint, "update") or dialect.update_url(endpoint) or endpoint
    if target is None and not dialect.default_graph_writable:
        for path, quads in zip(files, parsed):
            sent = _update(update_url, ox.NamedNode(file_graph(path.stem)), [quads], append, batch_size,
                           settings, timeout, sent, total, progress)
        return sent
    return _update(update_url, target, parsed, append, batch_size, settings, timeout, sent, total, progress)


def _update(update_url, target, parsed, append, batch_size, settings, timeout, sent, total, progress) -> int:
    """Replace (or add to) one graph by SPARQL Update: CLEAR, then INSERT DATA in batches."""
    name = "DEFAULT" if target is None else f"GRAPH {target}"
    if not append:
        _send("POST", update_url, f"CLEAR SILENT {name}".encode(), "application/sparql-update", settings, timeout)
    for batch in batches(parsed, batch_size):
        triples = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
        data = triples if target is None else f"GRAPH {target} {{\n{triples}}}"
        _send("POST", update_url, f"INSERT DATA {{\n{data}}}".encode(), "application/sparql-update", settings, timeout)
        sent += len(batch)
        if progress:
            progress(sent, total, "triples")
    return sent
