"""The OpenAPI 3.1 description of the JSON API, generated from the question catalogue.

Every question and each of its parameters is documented where it is served.
"""

from ..questions import CODE_PATTERNS, LIST_SEPARATORS, MAX_LIST, MAX_LIST_CHARS, MAX_STRING, PARAM_TYPES, PAYER_SLUG

__all__ = ["build"]

OPENAPI_VERSION = "3.1.0"


def _any_code_pattern() -> str:
    return "^(?:(?:" + "|".join(CODE_PATTERNS) + ")/)?(?:" + "|".join(
        p.pattern.strip("^$") for p in CODE_PATTERNS.values()) + ")$"


def param_schema(param) -> dict:
    """The JSON Schema of one question parameter, by its declared type."""
    kind = param.type
    if kind == "code":
        schema = {"type": "string", "pattern": _any_code_pattern(), "examples": ["0584T", "G0341", "E10.649", "pos/22"]}
    elif kind == "icd10cm":
        schema = {"type": "string", "pattern": CODE_PATTERNS["icd10cm"].pattern, "examples": ["E10.649"]}
    elif kind == "icd10cm-list":
        code, sep = CODE_PATTERNS["icd10cm"].pattern.strip("^$"), LIST_SEPARATORS.pattern
        schema = {"type": "string", "maxLength": MAX_LIST_CHARS,
                  "pattern": f"^({sep})?{code}({sep}{code})*({sep})?$", "examples": ["E10.9 R73.9", "E10.9,E13"],
                  "description": f"ICD-10-CM codes separated by spaces, commas or semicolons (at most {MAX_LIST})"}
    elif kind == "payer":
        schema = {"type": "string", "pattern": PAYER_SLUG.pattern, "examples": ["medicare", "aetna"]}
    elif kind == "date":
        # Not `format: date`: the word "today" (a default) is no date, and a default must fit its schema.
        schema = {"type": "string", "pattern": "^(?:today|[0-9]{4}-[0-9]{2}-[0-9]{2})$",
                  "description": "YYYY-MM-DD, or the word today", "examples": ["2026-01-01", "today"]}
    elif kind == "integer":
        schema = {"type": "integer", "minimum": 0}
    else:
        schema = {"type": "string", "maxLength": MAX_STRING}
    if param.default is not None:
        schema["default"] = int(param.default) if kind == "integer" else param.default
    return schema


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "406": {"$ref": "#/components/responses/NotAcceptable"},
}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


# What /sparql answers in (the endpoint negotiates among these and their aliases).
SPARQL_MEDIA = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values", "text/turtle", "application/n-triples", "application/ld+json")

FORMAT_PARAM = {
    "name": "format", "in": "query", "required": False,
    "description": "json (default) or csv; the same as the .json / .csv suffix or the Accept header.",
    "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
}
PAGING_PARAMS = [
    {"name": "limit", "in": "query", "required": False,
     "description": "Rows of one page, at most the result cap (JSON: 1000 unless given; CSV: the whole answer unless given).",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "offset", "in": "query", "required": False,
     "description": "Rows to skip before the page; the answer's `next` link gives the following page.",
     "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


def _question_path(q) -> dict:
    params = [{"name": p.name, "in": "query", "required": p.required,
               "description": p.description or f"a {p.type}", "schema": param_schema(p)} for p in q.params]
    gathered = "source" in q.columns
    row = {"type": "object", "properties": {c: {"type": ["string", "null"]} for c in q.columns},
           "required": list(q.columns) + (["sources"] if gathered else [])}
    if gathered:
        row["properties"]["sources"] = SOURCES
    answer = {"allOf": [{"$ref": "#/components/schemas/Answer"},
                        {"type": "object", "properties": {
                            "question": {"const": q.id},
                            # a label column may follow an IRI column the query leaves in want of words
                            "columns": {"type": "array", "items": {"anyOf": [
                                {"enum": list(q.columns) + (["sources"] if gathered else [])},
                                {"type": "string", "pattern": "Label$"}]}},
                            "rows": {"type": "array", "items": row}}}]}
    return {"get": {
        "operationId": f"question_{q.id}",
        "summary": q.summary,
        "description": q.description + (
            "\n\nOne row per fact: `sources` lists every source it rests on (source, sourceTitle, sourceUrl);"
            " the source columns hold the first. In CSV the source columns hold every source, joined by ' | ',"
            " and `sources` says them in words. An IRI column with no words beside it gets a `<column>Label` column."
            if gathered else ""),
        "tags": ["questions", *q.tags],
        "parameters": [*params, FORMAT_PARAM, *PAGING_PARAMS],
        "responses": {
            "200": {"description": "The answer, JSON or CSV (header X-Coderef-Truncated says whether the result cap cut it).",
                    "content": {"application/json": {"schema": answer},
                                "text/csv": {"schema": {"type": "string"}}}},
            **ERRORS,
        },
    }}


# Every source of one fact: the source columns of the rows gathered into it.
SOURCES = {"type": "array", "items": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}}

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["ok", "error", "status"],
        "properties": {"ok": {"const": False}, "error": {"type": "string", "description": "what went wrong, naming the parameter"},
                       "status": {"type": "integer"}},
    },
    "Param": {
        "type": "object", "required": ["name", "type", "required"],
        "properties": {"name": {"type": "string"},
                       "type": {"enum": list(PARAM_TYPES)},
                       "required": {"type": "boolean"}, "default": {"type": ["string", "null"]},
                       "description": {"type": "string"},
                       "binds": {"type": "array", "items": {"type": "string"},
                                 "description": "the query variables an icd10cm-list binds, when not its own name"}},
    },
    "Question": {
        "type": "object", "required": ["id", "summary", "params", "tags"],
        "properties": {"id": {"type": "string"}, "summary": {"type": "string"}, "description": {"type": "string"},
                       "params": {"type": "array", "items": {"$ref": "#/components/schemas/Param"}},
                       "tags": {"type": "array", "items": {"type": "string"}},
                       "url": {"type": "string"}, "html": {"type": "string"}},
    },
    "QuestionList": {
        "type": "object", "required": ["ok", "questions"],
        "properties": {"ok": {"const": True},
                       "questions": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}}},
    },
    "Answer": {
        "type": "object", "required": ["ok", "question", "columns", "rows", "truncated"],
        "properties": {"ok": {"const": True}, "question": {"type": "string"},
                       "columns": {"type": "array", "items": {"type": "string"}},
                       "rows": {"type": "array", "items": {"type": "object", "properties": {"sources": SOURCES},
                                                            "additionalProperties": {"type": ["string", "null"]}}},
                       "truncated": {"type": "boolean", "description": "the result cap cut the rows these facts were gathered from"},
                       "offset": {"type": "integer", "description": "of this page's first row"},
                       "limit": {"type": "integer", "description": "rows a page holds"},
                       "next": {"type": ["string", "null"], "description": "the following page, or null on the last"}},
    },
    "Source": {
        "type": "object", "properties": {"iri": {"type": "string"}, "title": {"type": ["string", "null"]},
                                         "url": {"type": ["string", "null"]}},
    },
    "Code": {
        "type": "object", "required": ["ok", "code"],
        "properties": {"ok": {"const": True}, "code": {
            "type": "object",
            "description": "Everything about one code: identity, status and dates, bundled services, included-in, "
                           "modifiers, indications, sites of service, related codes, payer positions, billing "
                           "guidance, benchmarks, clinical scenario, data gaps and sources. Each statement lists "
                           "its sources; confidence is confirmed, secondary, inferred, conflicting or unverified.",
            "required": ["notation", "iri", "label"],
            "properties": {k: {} for k in (
                "notation", "iri", "scheme", "label", "altLabels", "description", "shortDescriptor", "clinicalPurpose",
                "significance", "serviceType", "codeSystem", "status", "effectiveDate", "sunsetDate", "deletedDate",
                "replacedBy", "approach", "anatomicalTarget", "cellSources", "confidence", "sources", "bundledServices",
                "includedIn", "modifiers", "indications", "sitesOfService", "relatedCodes", "payerPositions",
                "billingGuidance", "benchmarks", "scenario", "scenarios", "dataGaps", "allSources")},
        }},
    },
    "SearchResults": {
        "type": "object", "required": ["ok", "q", "results"],
        "properties": {"ok": {"const": True}, "q": {"type": "string"}, "results": {"type": "array", "items": {
            "type": "object", "required": ["notation", "iri", "match"],
            "properties": {"notation": {"type": "string"}, "iri": {"type": "string"}, "label": {"type": ["string", "null"]},
                           "scheme": {"type": ["string", "null"]},
                           "match": {"type": "string", "description": "notation, label, altLabel, shortDescriptor, "
                                                                      "description, or 'indication <ICD-10-CM code>'"}}}}},
    },
    "Payers": {
        "type": "object", "required": ["ok", "payers"],
        "properties": {"ok": {"const": True}, "payers": {"type": "array", "items": {
            "type": "object", "required": ["slug", "iri", "name", "policies"],
            "properties": {"slug": {"type": "string"}, "iri": {"type": "string"}, "name": {"type": ["string", "null"]},
                           "type": {"type": ["object", "null"]},
                           "parent": {"type": ["object", "null"], "properties": {
                               "iri": {"type": "string"}, "slug": {"type": "string"}, "name": {"type": ["string", "null"]}}},
                           "policies": {"type": "array", "items": {"type": "object", "properties": {
                               "iri": {"type": "string"}, "identifier": {"type": ["string", "null"]},
                               "title": {"type": ["string", "null"]}, "effectiveDate": {"type": ["string", "null"]},
                               "lastReviewed": {"type": ["string", "null"]}, "nextReview": {"type": ["string", "null"]},
                               "endDate": {"type": ["string", "null"]},
                               "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}}}}}}}}},
    },
    "ValidationReport": {
        "type": "object", "required": ["ok", "conforms", "results"],
        "properties": {"ok": {"const": True}, "conforms": {"type": "boolean"}, "results": {"type": "array", "items": {
            "type": "object", "properties": {k: {"type": ["string", "null"]} for k in
                                             ("severity", "focus", "path", "message", "shape")}}}},
    },
}


def build(catalogue, server_url: str = "") -> dict:
    paths = {
        "/api/questions": {"get": {
            "operationId": "list_questions", "summary": "The question catalogue", "tags": ["questions"],
            "responses": {"200": _json("#/components/schemas/QuestionList", "Every question with its parameters.")}}},
    }
    for q in catalogue:
        paths[f"/api/questions/{q.id}"] = _question_path(q)
    paths["/api/codes/{notation}"] = {"get": {
        "operationId": "describe_code", "summary": "Everything about one code", "tags": ["codes"],
        "parameters": [{"name": "notation", "in": "path", "required": True, "description": "e.g. 0584T; scheme/notation when "
                        "a notation is in two code systems (modifier/22, pos/22)",
                        "schema": {"type": "string", "pattern": _any_code_pattern()}}],
        "responses": {"200": _json("#/components/schemas/Code", "The code."), **ERRORS}}}
    paths["/api/search"] = {"get": {
        "operationId": "search_codes", "summary": "Codes by notation or words", "tags": ["codes"],
        "parameters": [{"name": "q", "in": "query", "required": True, "description": "a notation prefix (0584T, E10) or "
                        "words in labels and descriptions (portal vein, hypoglycemia)",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
        "responses": {"200": _json("#/components/schemas/SearchResults", "Matching codes, best first."),
                      "400": ERRORS["400"]}}}
    paths["/api/payers"] = {"get": {
        "operationId": "list_payers", "summary": "Payers, their parent organisations and policies", "tags": ["policy"],
        "responses": {"200": _json("#/components/schemas/Payers", "Every payer.")}}}
    paths["/api/validate"] = {"get": {
        "operationId": "validate", "summary": "The SHACL report of the reference", "tags": ["policy"],
        "responses": {"200": _json("#/components/schemas/ValidationReport", "Conformance and every result.")}}}
    sparql_responses = {
        "200": {"description": "SELECT/ASK results, or the graph of a CONSTRUCT/DESCRIBE, by the Accept header.",
                "content": {media: {"schema": {"type": "string" if media != "application/sparql-results+json" else "object"}}
                            for media in SPARQL_MEDIA}},
        "400": ERRORS["400"],
        "403": {"$ref": "#/components/responses/Forbidden"},
        "406": ERRORS["406"],
    }
    sparql_query = {"name": "query", "in": "query", "required": False,
                    "description": "A SPARQL 1.1 query (no query: the service description).", "schema": {"type": "string"}}
    graph_params = [
        {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
         "description": f"{what} (SPARQL 1.1 Protocol; overrides the query's FROM / FROM NAMED). "
                        "Graphs of this store only, one per data file: https://w3id.org/coderef/graph/<file stem>; "
                        "an IRI it does not hold is an empty graph, never fetched.",
         "schema": {"type": "array", "items": {"type": "string", "format": "iri"}}}
        for name, what in (("default-graph-uri", "A graph merged into the query's default graph"),
                           ("named-graph-uri", "A graph the query may name with GRAPH"))]
    paths["/sparql"] = {
        "get": {"operationId": "sparql_get", "summary": "SPARQL 1.1 Protocol, read-only", "tags": ["meta"],
                "description": "Update, SERVICE and LOAD are refused and never run. With no dataset named, "
                               "a query reads the union of the data files' graphs.",
                "parameters": [sparql_query, *graph_params], "responses": sparql_responses},
        "post": {"operationId": "sparql_post", "summary": "SPARQL 1.1 Protocol, read-only (query in the body)",
                 "tags": ["meta"], "parameters": graph_params,
                 "requestBody": {"required": True, "content": {
                     "application/x-www-form-urlencoded": {"schema": {
                         "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}},
                     "application/sparql-query": {"schema": {"type": "string"}}}},
                 "responses": sparql_responses},
    }
    claim_line = {"type": "object", "required": ["code"], "additionalProperties": False, "properties": {
        "code": {"type": "string"}, "modifiers": {"type": "array", "items": {"type": "string"}},
        "units": {"type": "integer", "minimum": 1}}}
    paths["/api/check-claim"] = {"post": {
        "operationId": "check_claim", "summary": "Check one claim against the reference", "tags": ["policy"],
        "description": "Checked in memory: nothing is written. A malformed claim is a 400 naming the field.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["payer", "lines"], "properties": {
                "payer": {"type": "string", "description": "the payer's slug, as listed by /api/payers"},
                "date_of_service": {"type": "string", "format": "date"},
                "place_of_service": {"type": "string", "pattern": "^[0-9]{2}$"},
                "diagnoses": {"type": "array", "items": {"type": "string"}},
                "clinical_trial_nct": {"type": "string"},
                "lines": {"type": "array", "minItems": 1, "items": claim_line}}}}}},
        "responses": {"200": {"description": "Findings, each with its rule, severity, facts and sources.",
                              "content": {"application/json": {"schema": {
                                  "type": "object", "required": ["ok", "findings"], "properties": {
                                      "ok": {"const": True},
                                      "findings": {"type": "array", "items": {
                                          "type": "object", "required": ["severity", "rule", "message"],
                                          "properties": {
                                              "severity": {"enum": ["error", "warning", "info"]},
                                              "rule": {"type": "string"}, "line": {"type": ["integer", "null"]},
                                              "message": {"type": "string"},
                                              "facts": {"type": "array", "items": {"type": "string"}},
                                              "sources": {"type": "array", "items": {"type": "string"}}}}}}}}}},
                      "400": ERRORS["400"]}}}
    paths["/api/changes"] = {"get": {
        "operationId": "changes", "summary": "What changed since the last git tag (or the first commit)",
        "tags": ["policy"],
        "responses": {"200": {"description": "The changes, grouped by code and by payer.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    paths["/api/status"] = {"get": {
        "operationId": "status", "summary": "What graph serves, and why the last reload failed", "tags": ["meta"],
        "description": "The served graph's store kind, triple count (null over a remote endpoint), the fingerprint "
                       "of the files it was loaded from and when; reload_error is null, or why the last reload of "
                       "changed files was refused (a file that does not parse, or a shape violation) while the last "
                       "good graph keeps serving.",
        "responses": {"200": {"description": "The serving state.", "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["ok", "store", "triples", "fingerprint", "loaded_at", "reload_interval", "reload_error"],
            "properties": {
                "ok": {"const": True},
                "store": {"enum": ["memory", "persisted", "remote"]},
                "triples": {"type": ["integer", "null"]},
                "fingerprint": {"type": ["string", "null"]},
                "loaded_at": {"type": ["string", "null"], "format": "date-time"},
                "reload_interval": {"type": "number", "description": "seconds between looks at the files; 0: never"},
                "reload_error": {"type": ["string", "null"]}}}}}}}}}
    paths["/api/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This description", "tags": ["meta"],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}}

    tags = sorted({t for q in catalogue for t in q.tags})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "coderef",
            "version": "0.1.0",
            "summary": "An open knowledge-graph reference for medical billing codes.",
            "description": "Read-only JSON API over the coderef graph. Every error has the shape "
                           '{"ok": false, "error": "...", "status": N}. The SPARQL 1.1 endpoint is at /sparql and '
                           "Linked Data resources at /id/...",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": server_url or "/"}],
        "tags": [{"name": "questions", "description": "Named SPARQL questions"},
                 {"name": "codes", "description": "Codes and search"},
                 *({"name": t, "description": f"Questions for {t}"} for t in tags if t not in ("questions", "codes")),
                 {"name": "meta"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {"BadRequest": _error("A malformed parameter, named in the message."),
                          "NotFound": _error("An unknown code, payer or question."),
                          "NotAcceptable": _error("A format that is not offered."),
                          "Forbidden": _error("An update, SERVICE, LOAD or remote FROM: the service is read-only.")},
        },
    }
