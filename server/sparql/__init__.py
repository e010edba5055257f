"""SPARQL as text: tokens, binding by VALUES, the read-only guard, ordering and result formats."""
