"""The /fhir blueprint: FHIR R4 terminology (JSON or XML), a thin layer over server/fhir."""

from flask import Blueprint, Response, g, json, request

from ...errors import CoderefError
from ...fhir import capabilities, service
from ...fhir.formats import JSON, negotiate, to_xml
from ...fhir.outcome import FhirError, issue, operation_outcome
from ...fhir.params import Params
from ...fhir.sets import BASE as SETS_BASE
from ..extensions import get_catalogue, get_store

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
ISSUE_CODES = {400: "invalid", 403: "forbidden", 404: "not-found", 406: "not-supported", 413: "too-costly",
               503: "transient"}


def _render(resource: dict, status: int = 200, refusing: bool = False) -> Response:
    """In the format asked for; an error about the format itself is told in JSON."""
    try:
        kind = negotiate(request.args.get("_format"), request.accept_mimetypes)
    except FhirError:
        if not refusing:
            raise
        kind = JSON
    body = json.dumps(resource, ensure_ascii=False) if kind == JSON else to_xml(resource)
    response = Response(body, status, content_type=f"{kind}; charset=utf-8")
    if g.get("fhir_language_header"):
        response.headers["Cache-Control"] = "no-store"  # the answer cache does not vary on Accept-Language
    return response


@bp.errorhandler(FhirError)
def fhir_error(err: FhirError):
    return _render(err.outcome(), err.status, refusing=True)


@bp.errorhandler(CoderefError)
def coderef_error(err: CoderefError):
    code = ISSUE_CODES.get(err.status, "exception")
    return _render(operation_outcome([issue("error", code, err.message)]), err.status, refusing=True)


def _params() -> Params:
    negotiate(request.args.get("_format"), request.accept_mimetypes)  # a 406 before any work
    if request.method == "GET":
        return Params.from_query(request.args)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return Params.from_query(request.form)
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise FhirError("the request body is not JSON: send a FHIR Parameters resource as application/fhir+json",
                        400, "structure")
    return Params.from_body(body)


def _with_language(params: Params) -> Params:
    """Accept-Language stands for displayLanguage when the request gives none."""
    header = request.headers.get("Accept-Language")
    if header and params.get("displayLanguage") is None:
        params.items.append(("displayLanguage", header))
        g.fhir_language_header = True
    return params


def _registry(params: Params):
    return service.registry_for(get_store(), get_catalogue(), params)


def _base() -> str:
    return request.url_root.rstrip("/") + "/fhir"


@bp.get("/metadata")
def metadata():
    mode = request.args.get("mode")
    if mode == "terminology":
        return _render(capabilities.terminology_capabilities(_base()))
    if mode not in (None, "full", "normative"):
        raise FhirError(f"parameter 'mode': {mode!r} is not full, normative or terminology", 400, "invalid")
    return _render(capabilities.capability_statement(_base()))


OPERATIONS = {
    ("CodeSystem", "lookup"): service.lookup_code,
    ("CodeSystem", "validate-code"): service.validate_in_codesystem,
    ("CodeSystem", "subsumes"): service.subsumes_codes,
    ("ValueSet", "expand"): service.expand_valueset,
    ("ValueSet", "validate-code"): service.validate_in_valueset,
    ("ConceptMap", "translate"): service.translate_code,
}


@bp.route("/<kind>/$<operation>", methods=["GET", "POST"])
def operation(kind, operation):
    run = OPERATIONS.get((kind, operation))
    if run is None:
        raise FhirError(f"no operation ${operation} on {kind}; see {_base()}/metadata", 404, "not-supported")
    params = _with_language(_params())
    return _render(run(_registry(params), params))


@bp.route("/$versions", methods=["GET", "POST"])
def versions():
    return _render(service.versions())


@bp.get("/CodeSystem")
def search_codesystems():
    return _render(service.search_codesystems(get_store(), request.args.get("url"), _base()))


@bp.get("/CodeSystem/<system_id>")
def read_codesystem(system_id):
    if system_id.startswith("$"):  # GET CodeSystem/$lookup: this rule is the more specific one
        return operation("CodeSystem", system_id[1:])
    return _render(service.read_codesystem(get_store(), system_id))


@bp.get("/ValueSet")
def search_valuesets():
    url = request.args.get("url")
    if not url:
        raise FhirError("search ValueSet by 'url' (e.g. https://w3id.org/coderef/fhir/ValueSet/indications-0584T)",
                        400, "required", expression="url")
    found = _registry(Params([])).valueset(url)
    return _render(service.bundle([found] if found else [], _base()))


@bp.get("/ValueSet/<set_id>")
def read_valueset(set_id):
    if set_id.startswith("$"):
        return operation("ValueSet", set_id[1:])
    found = _registry(Params([])).valueset(f"{SETS_BASE}ValueSet/{set_id}")
    if found is None:
        raise FhirError(f"no ValueSet/{set_id}: the sets are indications-<code>, family-<code> and modifiers-<code>",
                        404, "not-found")
    return _render(found)


@bp.route("/<path:rest>", methods=["POST", "PUT", "PATCH", "DELETE"])
def read_only(rest):
    raise FhirError(f"{request.method} is not allowed on /fhir/{rest}: this terminology service is read-only "
                    "(POST is for $operations)", 405, "not-supported")


@bp.get("/<path:rest>")
def nothing_here(rest):
    raise FhirError(f"nothing at /fhir/{rest}; see {_base()}/metadata", 404, "not-found")
