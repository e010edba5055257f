"""Parsing an answer with the `fhir.resources` models, so that every /fhir response is checked as FHIR.

fhir.resources ships R5, R4B and STU3, not R4: R4B is the closest (same CodeSystem, ValueSet,
ConceptMap and Parameters shapes). Differences met: R4B's TerminologyCapabilities and
CapabilityStatement are R4's; `valueCanonical` parameters parse alike.
"""

from fhir.resources.R4B import get_fhir_model_class


def parse(resource: dict):
    """The model instance; raises (pydantic ValidationError) when the resource is not valid FHIR."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


__all__ = ["parse"]
