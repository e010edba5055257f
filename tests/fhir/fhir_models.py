"""Parsing an answer with the `fhir.resources` models, so that every /fhir response is checked as FHIR.

fhir.resources (8.x) ships R5, R4B and STU3, not R4: R4B is the closest (its CodeSystem,
ValueSet, ConceptMap, Parameters, OperationOutcome, CapabilityStatement and
TerminologyCapabilities are R4's). Differences met: HL7's test cases are written in R5 and
expect `expansion.property` and `expansion.contains.property`, which R4/R4B refuse (so the
service leaves them out and one case fails); R5 ConceptMaps (`relationship`) are read and
answered with R4's `equivalence`; a tx-resource ValueSet without the `status` R4 requires is
expanded with status `unknown`.
"""

from fhir.resources.R4B import get_fhir_model_class


def parse(resource: dict):
    """The model instance; raises (pydantic ValidationError) when the resource is not valid FHIR."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


__all__ = ["parse"]
