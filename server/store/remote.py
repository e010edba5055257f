"""The remote backend: any SPARQL 1.1 endpoint, through SPARQLWrapper.

Same `select/ask/construct` interface and `Result` shape as the embedded store, so a
deployment that outgrows one machine (Virtuoso, GraphDB, Neptune, QLever, Oxigraph server)
needs a setting, not a code change. Bindings travel as a VALUES block that a library
serialized (pyoxigraph terms print as N-Triples, escaped); raw text is never pasted.
"""

import http.client
import json
import socket
import urllib.error
import urllib.parse

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper import SPARQLExceptions as sw_errors

from .. import config as cfg
from ..errors import BadRequest, ConfigError, QueryTimeout, StoreUnavailable
from ..sparql.dataset import declares_dataset, without_dataset
from ..sparql.text import inject_values, query_form
from .dialect import dialect_of, query_key
from .result import Result




class EndpointTimeout(StoreUnavailable, QueryTimeout):
    """The endpoint took longer than QUERY_TIMEOUT: both a timeout and an unavailable store."""


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
        self.dialect = dialect_of(self.settings)
        self.forms = self.dialect.forms_in(cfg.folder(self.settings, "QUERIES_DIR"))

    def _wrapper(self, query: str, form: str, return_format, dataset=None) -> SPARQLWrapper:
        sparql = SPARQLWrapper(self.endpoint, agent="coderef")
        sparql.setMethod(POST)  # a long query never meets a URL length limit
        sparql.setOnlyConneg(True)  # no `format=` parameters some servers reject
        # SPARQLWrapper's setTimeout truncates to int (0.3 s -> 0, i.e. no limit at all); urlopen takes a float.
        sparql.timeout = self.timeout
        if self.settings.get("SPARQL_USER"):
            sparql.setCredentials(self.settings["SPARQL_USER"], self.settings.get("SPARQL_PASSWORD") or "")
        sparql.setQuery(query if dataset is None else without_dataset(query))
        sparql.queryType = form  # ours, from a real tokenizer; never sent as an update
        sparql.setReturnFormat(return_format)
        for graph in (dataset.default if dataset else ()):  # the Protocol's, passed on as given
            sparql.addDefaultGraph(graph)
        for graph in (dataset.named if dataset else ()):
            sparql.addNamedGraph(graph)
        if dataset is None and not declares_dataset(query) and self.dialect.union_parameter:
            sparql.addParameter(*self.dialect.union_parameter)  # the union of the files' graphs
        return sparql

    def _request(self, query: str, bindings, forms: tuple, return_format, dataset=None):
        form = query_form(query)
        if form not in forms:
            raise BadRequest(f"expected a {' or '.join(forms)} query, not {form}")
        text = inject_values(self.forms.get(query_key(query), query) if self.forms else query, bindings)
        where = f"the SPARQL endpoint {self.endpoint}"
        try:
            return self._wrapper(text, form, return_format, dataset).query().response
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

    def select(self, query: str, bindings=None, cap: int | None = None, dataset=None) -> Result:
        cap = self.settings["RESULT_CAP"] if cap is None else cap
        answer = self._json(self._request(query, bindings, ("SELECT",), JSON, dataset))
        result = Result(list(answer.get("head", {}).get("vars", [])))
        for row in answer.get("results", {}).get("bindings", []):
            if len(result.rows) >= cap:
                result.truncated = True
                break
            result.rows.append({c: self.dialect.term(row[c]) for c in result.columns if c in row})
        return result

    def ask(self, query: str, bindings=None, dataset=None) -> bool:
        answer = self._json(self._request(query, bindings, ("ASK",), JSON, dataset))
        return self.dialect.ask_value(answer)

    def construct(self, query: str, bindings=None, dataset=None) -> list:
        """Triples of a CONSTRUCT or DESCRIBE query, as pyoxigraph triples."""
        response = self._request(query, bindings, ("CONSTRUCT", "DESCRIBE"), TURTLE, dataset)
        media = (response.headers.get("Content-Type") or "text/turtle").split(";")[0].strip().lower()
        body = self._read(response)
        try:
            return [q.triple for q in ox.parse(body, format=_RDF_FORMATS.get(media, ox.RdfFormat.TURTLE))]
        except SyntaxError as err:
            raise StoreUnavailable(f"the SPARQL endpoint {self.endpoint} sent unreadable {media}: {err}") from None

    def for_validation(self):
        """The store the compiled shapes run on: this one, or where the dialect says the
        engine cannot take them, an in-memory copy of its triples."""
        if self.dialect.validates_in_place:
            return self
        from .embedded import EmbeddedStore  # noqa: PLC0415

        copy = ox.Store()
        copy.extend(ox.Quad(t.subject, t.predicate, t.object) for t in
                    self.construct(self.dialect.copy_query))
        return EmbeddedStore(copy, self.settings)

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
