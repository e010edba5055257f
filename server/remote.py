"""The remote backend: any SPARQL 1.1 endpoint, through SPARQLWrapper.

Same `select/ask/construct` interface and `Result` shape as the embedded store, so a
deployment that outgrows one machine (Virtuoso, GraphDB, Neptune, QLever, Oxigraph server)
needs a setting, not a code change. Bindings travel as a VALUES block that a library
serialized (pyoxigraph terms print as N-Triples, escaped); raw text is never pasted.

Also `coderef load --endpoint URL`: the ontology and data, parsed here first, sent to the
endpoint by the Graph Store Protocol or SPARQL Update.
"""

import base64
import http.client
import json
import re
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper import SPARQLExceptions as sw_errors

from . import config as cfg
from .errors import BadRequest, ConfigError, QueryTimeout, StoreUnavailable
from .stores import XSD_STRING, Result, to_oxigraph

QUERY_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")

# One token of SPARQL text, enough to tell structure from content: strings, IRIs and
# comments are skipped whole so that a brace or keyword inside them never counts.
_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
    | (?P<word>[A-Za-z0-9_\u00B7-\uFFFF][A-Za-z0-9_\-.:%\u00B7-\uFFFF]*|:[A-Za-z0-9_\-.:%\u00B7-\uFFFF]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class EndpointTimeout(StoreUnavailable, QueryTimeout):
    """The endpoint took longer than QUERY_TIMEOUT: both a timeout and an unavailable store."""


def tokens(text: str):
    """(kind, text, start, end) of every significant token."""
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        kind = match.lastgroup
        if kind not in ("space", "comment"):
            yield kind, match.group(), match.start(), match.end()
        pos = match.end()


def query_form(text: str) -> str:
    """SELECT, CONSTRUCT, ASK or DESCRIBE; BadRequest for anything else (an update, say)."""
    for kind, value, _, _ in tokens(text):
        if kind == "word" and value.upper() in QUERY_FORMS:
            return value.upper()
        if kind == "word" and value.upper() not in ("PREFIX", "BASE") and ":" not in value:
            break
    raise BadRequest("expected a SPARQL query (SELECT, CONSTRUCT, ASK or DESCRIBE)")


def _group_end(toks, i: int) -> int:
    """Index of the token closing the brace opened at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][1] == "{":
            depth += 1
        elif toks[j][1] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise BadRequest("malformed SPARQL: unbalanced braces")


def values_block(bindings: dict) -> str:
    """`VALUES (?a ?b) { (<iri> "lit") }`, every term serialized by pyoxigraph."""
    names = [str(ox.Variable(name)) for name in bindings]  # ValueError on a bad name
    terms = [str(to_oxigraph(term)) for term in bindings.values()]
    return f"VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }}"


def inject_values(query: str, bindings: dict | None) -> str:
    """The query with the bindings as a VALUES block opening its outer WHERE group."""
    if not bindings:
        return query
    try:
        block = values_block(bindings)
    except ValueError as err:
        raise BadRequest(f"cannot bind {sorted(bindings)}: {err}") from None
    toks = list(tokens(query))
    form = query_form(query)
    start = next(i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == form)
    i = start + 1
    if form == "CONSTRUCT":
        while i < len(toks) and toks[i][1] != "{" and toks[i][1].upper() != "WHERE":
            i += 1
        if i < len(toks) and toks[i][1].upper() == "WHERE":
            # CONSTRUCT WHERE { pattern }: the template is the pattern; spell it out
            # so the pattern may hold a VALUES block.
            open_ = next(j for j in range(i, len(toks)) if toks[j][1] == "{")
            close = _group_end(toks, open_)
            body = query[toks[open_][3] : toks[close][2]]
            return f"{query[: toks[i][2]]}{{{body}}} WHERE {{ {block} {body}}}{query[toks[close][3]:]}"
        i = _group_end(toks, i) + 1  # skip the template
    depth = 0
    for j in range(i, len(toks)):
        value = toks[j][1]
        if value == "(":
            depth += 1
        elif value == ")":
            depth -= 1
        elif value == "{" and depth == 0:
            at = toks[j][3]
            return f"{query[:at]} {block} {query[at:]}"
    raise BadRequest("malformed SPARQL: no WHERE group to bind parameters in")


def term_json(term: dict) -> dict:
    """A SPARQL JSON term as the embedded store gives it: plain strings carry no datatype."""
    out = {"type": "literal" if term["type"] == "typed-literal" else term["type"], "value": term["value"]}
    if term.get("xml:lang"):
        out["xml:lang"] = term["xml:lang"]
    elif term.get("datatype") and term["datatype"] != XSD_STRING:
        out["datatype"] = term["datatype"]
    return out


_RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/n3": ox.RdfFormat.N3,
    "text/rdf+n3": ox.RdfFormat.N3,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}


class RemoteStore:
    """A SPARQL 1.1 endpoint behind the store interface. Holds no connection: each call is
    one HTTP request, so a gunicorn worker or thread can share the object."""

    kind = "remote"

    def __init__(self, settings: dict | None = None):
        self.settings = cfg.resolve(settings)
        self.endpoint = self.settings["SPARQL_ENDPOINT"]
        if not self.endpoint or urllib.parse.urlsplit(self.endpoint).scheme not in ("http", "https"):
            raise ConfigError(f"SPARQL_ENDPOINT must be an http(s) URL, not {self.endpoint!r}")
        self.timeout = float(self.settings["QUERY_TIMEOUT"])

    def _wrapper(self, query: str, form: str, return_format) -> SPARQLWrapper:
        sparql = SPARQLWrapper(self.endpoint, agent="coderef")
        sparql.setMethod(POST)  # a long query never meets a URL length limit
        sparql.setOnlyConneg(True)  # no `format=` parameters some servers reject
        # SPARQLWrapper's setTimeout truncates to int (0.3 s -> 0, i.e. no limit at all); urlopen takes a float.
        sparql.timeout = self.timeout
        if self.settings.get("SPARQL_USER"):
            sparql.setCredentials(self.settings["SPARQL_USER"], self.settings.get("SPARQL_PASSWORD") or "")
        sparql.setQuery(query)
        sparql.queryType = form  # ours, from a real tokenizer; never sent as an update
        sparql.setReturnFormat(return_format)
        return sparql

    def _request(self, query: str, bindings, forms: tuple, return_format):
        form = query_form(query)
        if form not in forms:
            raise BadRequest(f"expected a {' or '.join(forms)} query, not {form}")
        text = inject_values(query, bindings)
        where = f"the SPARQL endpoint {self.endpoint}"
        try:
            return self._wrapper(text, form, return_format).query().response
        except sw_errors.QueryBadFormed as err:
            raise BadRequest(f"malformed SPARQL: {_reason(err)}") from None
        except sw_errors.Unauthorized:
            raise StoreUnavailable(f"{where} refused the credentials (SPARQL_USER/SPARQL_PASSWORD)") from None
        except sw_errors.EndPointNotFound:
            raise StoreUnavailable(f"{where} answered 404: is the URL right?") from None
        except sw_errors.SPARQLWrapperException as err:
            raise StoreUnavailable(f"{where} failed: {_reason(err)}") from None
        except urllib.error.HTTPError as err:
            raise StoreUnavailable(f"{where} answered HTTP {err.code} {err.reason}") from None
        except (TimeoutError, socket.timeout):
            raise EndpointTimeout(f"{where} did not answer within {self.timeout:g} s") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                raise EndpointTimeout(f"{where} did not answer within {self.timeout:g} s") from None
            raise StoreUnavailable(f"{where} is unreachable: {err.reason}") from None
        except (OSError, http.client.HTTPException) as err:
            raise StoreUnavailable(f"{where} is unreachable: {err}") from None

    def _read(self, response) -> bytes:
        try:
            return response.read()
        except (TimeoutError, socket.timeout):
            raise EndpointTimeout(f"the SPARQL endpoint {self.endpoint} did not answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as err:
            raise StoreUnavailable(f"the SPARQL endpoint {self.endpoint} broke off its answer: {err}") from None

    def _json(self, response) -> dict:
        try:
            return json.loads(self._read(response))
        except ValueError:
            raise StoreUnavailable(f"the SPARQL endpoint {self.endpoint} sent something other than SPARQL JSON results") from None

    def select(self, query: str, bindings=None, cap: int | None = None) -> Result:
        cap = self.settings["RESULT_CAP"] if cap is None else cap
        answer = self._json(self._request(query, bindings, ("SELECT",), JSON))
        result = Result(list(answer.get("head", {}).get("vars", [])))
        for row in answer.get("results", {}).get("bindings", []):
            if len(result.rows) >= cap:
                result.truncated = True
                break
            result.rows.append({c: term_json(row[c]) for c in result.columns if c in row})
        return result

    def ask(self, query: str, bindings=None) -> bool:
        answer = self._json(self._request(query, bindings, ("ASK",), JSON))
        return bool(answer.get("boolean"))

    def construct(self, query: str, bindings=None) -> list:
        """Triples of a CONSTRUCT or DESCRIBE query, as pyoxigraph triples."""
        response = self._request(query, bindings, ("CONSTRUCT", "DESCRIBE"), TURTLE)
        media = (response.headers.get("Content-Type") or "text/turtle").split(";")[0].strip().lower()
        body = self._read(response)
        try:
            return [q.triple for q in ox.parse(body, format=_RDF_FORMATS.get(media, ox.RdfFormat.TURTLE))]
        except SyntaxError as err:
            raise StoreUnavailable(f"the SPARQL endpoint {self.endpoint} sent unreadable {media}: {err}") from None

    def __len__(self) -> int:
        rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows
        return int(rows[0]["n"]["value"]) if rows else 0


def _reason(err) -> str:
    """The endpoint's own words, without SPARQLWrapper's boilerplate."""
    text = str(err)
    text = text.split("Response:\n", 1)[-1].strip()
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1].encode().decode("unicode_escape", errors="replace")
    return " ".join(text.split())[:500]


# ------------------------------------------------------------------ coderef load

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


def _send(method: str, url: str, body: bytes, content_type: str, settings: dict, timeout: float) -> None:
    headers = {"Content-Type": content_type, "User-Agent": "coderef", **_auth_headers(settings)}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
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
    from .graph import parse_file  # noqa: PLC0415

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

    update_url = update_url or sibling(endpoint, "update") or endpoint
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


def cmd_load(args) -> int:
    from .cli import progress_printer, settings_from  # noqa: PLC0415

    settings = settings_from(args)
    endpoint = args.endpoint or settings.get("SPARQL_ENDPOINT")
    if not endpoint:
        raise ConfigError("give --endpoint URL (or set CODEREF_SPARQL_ENDPOINT)")
    try:
        sent = load(settings, endpoint, graph=args.graph, via=args.via, store_url=args.store,
                    update_url=args.update, append=args.append,
                    progress=progress_printer("Sent"), parse_progress=progress_printer("Parsed"))
    except ValueError as err:
        raise BadRequest(f"--graph must be 'default' or an absolute IRI: {err}") from None
    verb = "added" if args.append else "loaded"
    print(f"{verb} {sent} triples into the {args.graph} graph of {endpoint}", file=sys.stderr)
    return 0


def register_cli(sub, common):
    p = sub.add_parser("load", parents=[common], help="load ontology/ and data/ into a SPARQL endpoint")
    p.add_argument("--endpoint", help="the endpoint's query URL (default: $CODEREF_SPARQL_ENDPOINT)")
    p.add_argument("--graph", default="default", help="'default' or the IRI of a named graph (default: default)")
    p.add_argument("--via", choices=("gsp", "update"),
                   help="Graph Store Protocol (default when the store URL is known) or SPARQL Update")
    p.add_argument("--store", metavar="URL", help="Graph Store Protocol URL (default for .../query: .../store)")
    p.add_argument("--update", metavar="URL", help="SPARQL Update URL (default for .../query: .../update, else the endpoint)")
    p.add_argument("--append", action="store_true", help="add to the graph instead of replacing it")
    p.set_defaults(func=cmd_load)
