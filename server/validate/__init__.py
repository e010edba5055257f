"""SHACL validation: shapes compiled to SPARQL and run on a store, pySHACL where they do not translate."""

# the fast path (the default), the fast path with no pySHACL fallback, or pySHACL (the reference)
ENGINES = ("fast", "fast-only", "pyshacl")
