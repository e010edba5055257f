"""The server's metadata: CapabilityStatement and (mode=terminology) TerminologyCapabilities."""

from . import FHIR_VERSION
from .graph import SYSTEMS

SOFTWARE_VERSION = "0.1.0"
RELEASE_DATE = "2026-12-07"
# The HL7 tx-ecosystem test set this service is checked against (tests/fhir/tx/, commit 888e84d):
# the newest entry of its history.json, written there "1.90".
TESTS_VERSION = "1.9.0"
FEATURE = "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature"
OPERATION = "http://hl7.org/fhir/OperationDefinition/"
EXPANSION_PARAMETERS = ("activeOnly", "count", "displayLanguage", "excludeNested", "filter", "includeDesignations",
                        "offset", "tx-resource")


def _feature(definition: str, value: dict) -> dict:
    return {"url": FEATURE, "extension": [{"url": "definition", "valueCanonical": definition}, {"url": "value", **value}]}


def _ops(*names) -> list:
    return [{"name": n, "definition": OPERATION + d} for n, d in names]


def capability_statement(base: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "extension": [_feature("http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version", {"valueCode": TESTS_VERSION}),
                      _feature("http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter",
                               {"valueBoolean": True})],
        "url": f"{base}/metadata", "version": SOFTWARE_VERSION, "name": "coderef_terminology",
        "title": "coderef FHIR terminology service", "status": "active", "date": RELEASE_DATE, "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": "coderef", "version": SOFTWARE_VERSION, "releaseDate": RELEASE_DATE},
        "implementation": {"description": "Read-only terminology over the coderef knowledge graph", "url": base},
        "fhirVersion": FHIR_VERSION, "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [{"mode": "server", "resource": [
            {"type": "CodeSystem", "interaction": [{"code": "read"}, {"code": "search-type"}],
             "searchParam": [{"name": "url", "type": "uri"}],
             "operation": _ops(("lookup", "CodeSystem-lookup"), ("validate-code", "CodeSystem-validate-code"),
                               ("subsumes", "CodeSystem-subsumes"))},
            {"type": "ValueSet", "interaction": [{"code": "read"}, {"code": "search-type"}],
             "searchParam": [{"name": "url", "type": "uri"}],
             "operation": _ops(("expand", "ValueSet-expand"), ("validate-code", "ValueSet-validate-code"))},
            {"type": "ConceptMap", "operation": _ops(("translate", "ConceptMap-translate"))}],
            "operation": _ops(("versions", "-versions"))}],
    }


def terminology_capabilities(base: str) -> dict:
    return {
        "resourceType": "TerminologyCapabilities", "url": f"{base}/metadata?mode=terminology",
        "version": SOFTWARE_VERSION, "name": "coderef_terminology", "title": "coderef FHIR terminology service",
        "status": "active", "date": RELEASE_DATE, "kind": "instance",
        "software": {"name": "coderef", "version": SOFTWARE_VERSION},
        "codeSystem": [{"uri": url, "subsumption": url.endswith("icd-10-cm")} for url in SYSTEMS],
        "expansion": {"hierarchical": False, "paging": True, "parameter": [{"name": n} for n in EXPANSION_PARAMETERS]},
        "validateCode": {"translations": False}, "translation": {"needsMap": False},
    }
