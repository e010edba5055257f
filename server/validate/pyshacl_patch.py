"""pySHACL, the reference engine, run as coderef needs it: SHACL-SPARQL parsed once per query text."""

import rdflib

from ..errors import ConfigError


def _parse_sparql_once():
    """pySHACL re-parses a SHACL-SPARQL query's text for every focus node: about 97% of its
    time on our rules (measurements.md). The text is the same for every focus node, only
    the initial bindings differ, so we hand rdflib a query prepared once per text."""
    try:
        from pyshacl.constraints.sparql.sparql_based_constraints import SPARQLBasedConstraint
        from rdflib.plugins.sparql import prepareQuery
    except ImportError:  # another pySHACL layout: stay correct, only slower
        return
    original = getattr(SPARQLBasedConstraint, "_validate_sparql_query", None)
    if original is None or getattr(original, "coderef_prepared", False):
        return
    prepared = {}

    def _validate_sparql_query(self, query, init_binds, target_graph):
        if isinstance(query, str):
            if query not in prepared:
                if len(prepared) > 1024:
                    prepared.clear()
                prepared[query] = prepareQuery(query)
            query = prepared[query]
        return original(self, query, init_binds, target_graph)

    _validate_sparql_query.coderef_prepared = True
    SPARQLBasedConstraint._validate_sparql_query = _validate_sparql_query


def run_pyshacl(data: rdflib.Graph, shapes: rdflib.Graph, shape_files) -> rdflib.Graph:
    # imported here: the fast path needs pySHACL only for rules it does not translate
    import pyshacl

    _parse_sparql_once()

    try:
        _, results_graph, _ = pyshacl.validate(
            data, shacl_graph=shapes, inference="none", advanced=False, inplace=True,
            allow_warnings=True, abort_on_first=False, meta_shacl=False, debug=False,
        )
    except Exception as err:  # a shape pySHACL cannot load: the shapes are unreadable input
        raise _unusable(shape_files, err) from None
    if not isinstance(results_graph, rdflib.Graph):
        # pySHACL returns (not raises) a ValidationFailure for some ill-formed shapes
        # (VALUES in a SHACL-SPARQL query, say)
        raise _unusable(shape_files, results_graph)
    return results_graph


def _unusable(shape_files, err) -> ConfigError:
    where = ", ".join(str(p) for p in shape_files)
    text = getattr(err, "message", None) or str(err)
    return ConfigError(f"{where}: the shapes could not be used: {text}")
