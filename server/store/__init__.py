"""Stores: one interface (select, ask, construct), an embedded and a remote backend.

Every backend answers SELECT with a `Result` whose rows map variable names to SPARQL JSON
terms (server/rdf/terms.py), so that callers never see which engine answered.
"""
