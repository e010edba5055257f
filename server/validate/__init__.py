"""SHACL validation: shapes compiled to SPARQL and run on a store, pySHACL where they do not translate."""

ENGINES = ("fast", "pyshacl")  # the fast path (the default), or pySHACL, the reference engine
