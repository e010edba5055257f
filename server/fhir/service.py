"""The operations behind /fhir, from a request's parameters to a resource: no HTTP here.

A request's tx-resources (code systems, value sets, concept maps) join the graph's in a
Registry that lives for that request only.
"""

from . import FHIR_VERSION
from .compose import MissingValueSet
from .expand import expand
from .graph import SYSTEMS, by_id, system_url
from .lookup import lookup, subsumes
from .outcome import FhirError, not_found
from .registry import Registry
from .sets import GraphTerminology
from .translate import translate
from .validate import Coding, validate

EXPAND_OPTIONS = {"activeOnly": "boolean", "excludeNested": "boolean", "includeDesignations": "boolean",
                  "includeDefinition": "boolean", "count": "integer", "offset": "integer", "filter": "text",
                  "displayLanguage": "text"}
VALIDATE_OPTIONS = {"activeOnly": "boolean", "inferSystem": "boolean", "lenient-display-validation": "boolean",
                    "displayLanguage": "text", "systemVersion": "text", "valueset-membership-only": "boolean"}


def registry_for(store, catalogue, params) -> Registry:
    return Registry(GraphTerminology(store, catalogue) if store is not None else None, params.all("tx-resource"))


def _options(params, kinds: dict) -> dict:
    return {name: getattr(params, kind)(name) for name, kind in kinds.items()}


def _valueset(registry, params) -> dict:
    given = params.resource("valueSet", "ValueSet")
    if given is not None:
        return given
    url = params.text("url")
    if not url:
        raise FhirError("parameter 'url' (or a 'valueSet' resource) is required", 400, "required")
    found = registry.valueset(url)
    if found is None:
        raise MissingValueSet(url)
    return found


def expand_valueset(registry, params) -> dict:
    return expand(registry, _valueset(registry, params), _options(params, EXPAND_OPTIONS))


def _codings(params) -> tuple[list, dict | None]:
    cc = params.get("codeableConcept")
    if cc is not None:
        if not isinstance(cc, dict) or not isinstance(cc.get("coding", []), list) \
                or not all(isinstance(c, dict) for c in cc.get("coding", [])):
            raise FhirError("parameter 'codeableConcept' should be a CodeableConcept (coding: a list of Codings)",
                            400, "invalid")
        return [Coding(c.get("code"), c.get("system"), c.get("version"), c.get("display"), f"CodeableConcept.coding[{i}]")
                for i, c in enumerate(cc.get("coding", []))], cc
    coding = params.coding("coding")
    if coding is not None:
        return [Coding(coding.get("code"), coding.get("system"), coding.get("version"), coding.get("display"),
                       "Coding")], None
    code = params.text("code")
    if code is None:
        raise FhirError("one of the parameters 'code', 'coding' or 'codeableConcept' is required", 400, "required")
    return [Coding(code, params.text("system"),
                   params.text("systemVersion") or params.text("version"), params.text("display"))], None


def validate_in_valueset(registry, params) -> dict:
    valueset = _valueset(registry, params)
    codings, cc = _codings(params)
    return validate(registry, codings, _options(params, VALIDATE_OPTIONS), valueset, cc)


def validate_in_codesystem(registry, params) -> dict:
    codings, cc = _codings(params)
    url = params.text("url")
    if url:
        for c in codings:
            c.system = c.system or url
    return validate(registry, codings, _options(params, VALIDATE_OPTIONS), None, cc)


def _codesystem(registry, params, name="system"):
    url = params.text(name) or params.text("url")
    coding = params.coding("coding")
    if not url and coding:
        url = coding.get("system")
    if not url:
        raise FhirError(f"parameter {name!r} is required", 400, "required")
    cs = registry.codesystem(url, params.text("version"))
    if cs is None:
        raise not_found(f"A definition for CodeSystem '{url}' could not be found")
    return cs


def lookup_code(registry, params) -> dict:
    coding = params.coding("coding")
    code = params.text("code") or (coding or {}).get("code")
    if not code:
        raise FhirError("parameter 'code' (or 'coding') is required", 400, "required")
    return lookup(_codesystem(registry, params), code, [str(p) for p in params.all("property")])


def subsumes_codes(registry, params) -> dict:
    a, b = params.text("codeA"), params.text("codeB")
    if not a or not b:
        raise FhirError("parameters 'codeA' and 'codeB' are required", 400, "required")
    return subsumes(_codesystem(registry, params), a, b)


def translate_code(registry, params) -> dict:
    coding = params.coding("coding") or {}
    source = params.text("sourceSystem") or params.text("system") or coding.get("system")
    code = params.text("sourceCode") or params.text("code") or coding.get("code")
    target_code = params.text("targetCode")
    target = params.text("targetSystem") or params.text("target")
    if target_code:
        maps = registry.conceptmaps(target, target_code, reverse=True)
        return translate(maps, target, target_code, source, reverse=True, url=params.text("url"))
    if not code:
        raise FhirError("parameter 'sourceCode' (or 'code', 'coding', 'targetCode') is required", 400, "required")
    return translate(registry.conceptmaps(source, code), source, code, target, url=params.text("url"))


def versions() -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": "version", "valueString": FHIR_VERSION},
                                                          {"name": "default", "valueString": FHIR_VERSION}]}


def read_codesystem(store, system_id: str) -> dict:
    cs = by_id(store, system_id)
    if cs is None:
        raise not_found(f"no CodeSystem/{system_id}; the code systems are {', '.join(s[0] for s in SYSTEMS.values())}")
    return cs.resource()


def search_codesystems(store, url: str | None, base: str) -> dict:
    found = [by_id(store, spec[0]).resource() for u, spec in SYSTEMS.items() if url is None or u == system_url(url)]
    return bundle(found, base)


def bundle(resources: list, base: str) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in resources]}
