"""FHIR R4 terminology over the reference: CodeSystem, ValueSet and ConceptMap operations.

The parts: outcome.py (errors as OperationOutcome, issues), formats.py (JSON and XML),
params.py (reading a request's parameters), systems.py (code systems held in memory, as
tx-resource supplies them), graph.py (the reference's code systems, answered from the store),
registry.py (what a request can see: the graph's systems, sets and maps, and its own
tx-resources), compose.py (a value set's compose, evaluated), expand.py, validate.py,
lookup.py, translate.py (the operations), capabilities.py (metadata).
"""

FHIR_VERSION = "4.0.1"
