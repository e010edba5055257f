"""SHACL-SPARQL as SELECTs over all focus nodes at once: sh:sparql constraints and SPARQL-based constraint components.

Pre-binding is done by rewriting the query. The target (a group binding ?this to each focus
node) is joined at the head of the outer WHERE group, of every inner group that reads $this
in an expression, and of every sub-SELECT (which must project $this); $PATH becomes the
shape's path; the parameters of a constraint component, $currentShape and $shapesGraph are
replaced by their values ($shapesGraph by SHAPES_GRAPH, a named graph of the store that the
engine fills with the shapes). A query the specification forbids (MINUS, SERVICE, VALUES,
a pre-bound variable assigned with AS, a sub-SELECT that does not project $this) is an error
of the shapes (ConfigError), as is one that does not parse (an undeclared prefix). What is
valid but not translated (GROUP BY, LIMIT, ...) raises Unsupported: pySHACL checks it.

A SPARQL-based constraint component applies to a shape with a value for each of its
non-optional parameters: its SELECT validator (sh:nodeValidator for a node shape,
sh:propertyValidator for a property shape, else sh:validator) gives a result per solution;
its ASK validator gives one per value node for which the ASK is false.
"""

import re

import pyoxigraph as ox
import rdflib
from rdflib.namespace import OWL, SH

from ..errors import ConfigError
from ..sparql.text import tokens
from .checks import Unsupported, to_sparql

SHAPES_GRAPH = "https://w3id.org/coderef/shapes-graph"
_FORBIDDEN = ("MINUS", "SERVICE", "VALUES")
_UNTRANSLATED = {"GROUP", "LIMIT", "OFFSET", "HAVING", "ORDER"}


def prefixes(g: rdflib.Graph, node) -> str:
    """PREFIX lines of sh:prefixes/owl:imports*/sh:declare of a constraint or validator."""
    found, todo, seen = {}, list(g.objects(node, SH.prefixes)), set()
    while todo:
        source = todo.pop()
        if source in seen:
            continue
        seen.add(source)
        todo.extend(g.objects(source, OWL.imports))
        for decl in g.objects(source, SH.declare):
            prefix, namespace = g.value(decl, SH.prefix), g.value(decl, SH.namespace)
            if prefix is None or namespace is None:
                raise ConfigError(f"sh:declare without sh:prefix or sh:namespace on {source}")
            if found.setdefault(str(prefix), str(namespace)) != str(namespace):
                raise ConfigError(f"the prefix {prefix}: is declared for two namespaces under {node}")
    return "".join(f"PREFIX {p}: {to_sparql(rdflib.URIRef(ns))}\n" for p, ns in sorted(found.items()))


def _substitute(text: str, bindings: dict, projection_end: int) -> str:
    """$name / ?name of `bindings` replaced by their SPARQL terms; a bare variable of the
    projection (before `projection_end`) that is bound is dropped; bound($name) is true."""
    for name in bindings:
        text = re.sub(r"(?i)\bbound\s*\(\s*[$?]" + re.escape(name) + r"\s*\)", "(true)", text)
    out, at, depth = [], 0, 0
    for kind, token, start, end in tokens(text):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if kind != "var" or token[1:] not in bindings:
            continue
        out.append(text[at:start])
        if not (start < projection_end and depth == 0):
            out.append(f" {bindings[token[1:]]} ")
        at = end
    return "".join(out) + text[at:]


def select_query(compiler, shape, owner, text: str, target: str, bindings=None, pre_bound=()) -> tuple[str, bool]:
    """The SELECT of a constraint (or validator) `owner` of `shape`, pre-bound as the
    module docstring says; and whether the query itself projects $this."""
    g = compiler.g
    if not text:
        raise Unsupported("sh:sparql without sh:select (ASK-based validators are not translated)")
    bindings = dict(bindings or {})
    if "shapesGraph" in text:
        bindings["shapesGraph"] = to_sparql(rdflib.URIRef(SHAPES_GRAPH))
    if re.search(r"[$?]currentShape\b", text):
        bindings["currentShape"] = to_sparql(shape)  # Unsupported for a blank node
    if re.search(r"[$?]failure\b", text):
        raise Unsupported("?failure in the SHACL-SPARQL query")
    path = g.value(shape, SH.path)
    if "$PATH" in text:
        if path is None:
            raise Unsupported("$PATH in a node shape")
        text = text.replace("$PATH", compiler.path(path))
    toks = list(tokens(text))
    words = [t[1].upper() for t in toks if t[0] == "word"]
    where_of = f"the SHACL-SPARQL query of {shape}"
    for word in _FORBIDDEN:
        if word in words:
            raise ConfigError(f"{where_of} uses {word}, which SHACL does not allow with pre-bound variables")
    assigned = {toks[i + 1][1][1:] for i in range(len(toks) - 1) if toks[i][1].upper() == "AS" and toks[i + 1][0] == "var"}
    bound_here = assigned & {"this", "currentShape", "shapesGraph", *bindings, *pre_bound}
    if bound_here:
        raise ConfigError(f"{where_of} assigns the pre-bound variable {', '.join(sorted(bound_here))} with AS")
    unsafe = _UNTRANSLATED & set(words)
    if unsafe:
        raise Unsupported(f"{', '.join(sorted(unsafe))} in the SHACL-SPARQL query")
    selects = [i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == "SELECT"]
    if not selects:
        raise Unsupported("no SELECT in the SHACL-SPARQL query")
    groups = []  # offsets of the WHERE groups of the sub-SELECTs: the target is joined there
    for sub in selects[1:]:
        brace = next((i for i in range(sub, len(toks)) if toks[i][1] == "{"), None)
        names = {t[1][1:] for t in toks[sub + 1:brace] if t[0] == "var"}
        if any(t[1] == "*" for t in toks[sub + 1:brace]):
            raise Unsupported("a sub-SELECT * (whether it returns $this depends on its pattern)")
        if "this" not in names:
            raise ConfigError(f"{where_of} has a sub-SELECT that does not project $this, as SHACL requires")
        groups.append(toks[brace][3])
    select = selects[0]
    where = next((i for i in range(select, len(toks)) if toks[i][1] == "{"), None)
    if where is None:
        raise Unsupported("no WHERE group")
    inner = _groups_reading_this(toks, where)
    projection = toks[select + 1:where]
    names = {t[1][1:] for t in projection if t[0] == "var"}
    star = any(t[1] == "*" for t in projection)
    projects_this = star or "this" in names
    head = text[:toks[where][3]]
    if not projects_this:
        at = toks[select][3]
        if projection and projection[0][0] == "word" and projection[0][1].upper() in ("DISTINCT", "REDUCED"):
            at = projection[0][3]
        head = f"{text[:at]} ?this{text[at:toks[where][3]]}"
    tail = text[toks[where][3]:]
    for at in sorted({*inner, *groups}, reverse=True):
        at -= toks[where][3]
        tail = f"{tail[:at]} {target} {tail[at:]}"
    query = f"{head} {target} {tail}"
    if bindings:
        query = _substitute(query, bindings, len(head))
    query = prefixes(g, owner) + re.sub(r"\$this\b", "?this", query)
    _parses(query, where_of)
    return query, projects_this


def _parses(query: str, where_of: str) -> None:
    try:
        ox.Store().query(query)  # an empty store: only whether it parses
    except SyntaxError as err:
        words = [t[1] for t in tokens(query) if t[0] == "word"]
        declared = {w for before, w in zip(words, words[1:]) if before.upper() == "PREFIX"}
        missing = sorted({w.split(":")[0] + ":" for w in words if ":" in w} - declared)
        if missing:
            raise ConfigError(f"{where_of} uses the undeclared prefix {', '.join(missing)}: "
                              "declare it (sh:declare) in a shape file given, under the node its sh:prefixes "
                              "names (or an ontology that node owl:imports)") from None
        raise ConfigError(f"{where_of} does not parse: {err}") from None


def _groups_reading_this(toks, where: int) -> list:
    """The offsets (just inside the brace) of the inner groups that must join the target
    too. Joined at the head of the WHERE group, the target binds $this wherever the query
    reads it, as pre-binding would, in that group, in an EXISTS of it, and as a term of a
    triple pattern of an inner group (which joins on it); but in an expression of an inner
    group (FILTER, BIND, or an EXISTS there) $this would be unbound."""
    stack = []  # ("outer" | "group" | "exists", offset) per open brace; ("(", None) per parenthesis
    found = []
    for i in range(where, len(toks)):
        kind, text = toks[i][0], toks[i][1]
        if text == "{":
            before = toks[i - 1][1].upper() if i > where else ""
            stack.append(("outer" if not stack else "exists" if before == "EXISTS" else "group", toks[i][3]))
        elif text == "(":
            stack.append(("(", None))
        elif text in ("}", ")") and stack:
            stack.pop()
        elif kind == "var" and text[1:] == "this" and stack:
            group = next(entry for entry in reversed(stack) if entry[0] in ("outer", "group"))
            if group[0] == "group" and stack[-1][0] != "group" and group[1] not in found:
                found.append(group[1])
    return found


# ------------------------------------------------------------------ constraint components

def components(g: rdflib.Graph) -> list:
    """(component, [(parameter predicate, optional)]) of every constraint component the
    shapes graph declares (SHACL Core's are not declared there)."""
    out = []
    for made in sorted(set(g.subjects(SH.parameter, None)), key=str):
        params = []
        for param in g.objects(made, SH.parameter):
            predicate = g.value(param, SH.path)
            if predicate is not None:
                params.append((predicate, str(g.value(param, SH.optional)) == "true"))
        out.append((made, sorted(params, key=lambda p: str(p[0]))))
    return out


def component_checks(compiler, shape, target: str, declared: list) -> list:
    """(query, projects_this, component, validator messages, is_select) of every declared
    component the shape uses."""
    g = compiler.g
    path = g.value(shape, SH.path)
    out = []
    for made, params in declared:
        values = {}
        for predicate, optional in params:
            found = list(g.objects(shape, predicate))
            if len(found) > 1:
                raise Unsupported(f"more than one value of the parameter {predicate} on {shape}")
            if found:
                values[predicate] = found[0]
            elif not optional:
                values = None
                break
        if not values:
            continue
        bindings = {_local(p): to_sparql(v) for p, v in values.items()}
        names = {_local(p) for p, _ in params}
        specific = g.value(made, SH.propertyValidator if path is not None else SH.nodeValidator)
        validator = specific if specific is not None else g.value(made, SH.validator)
        if validator is None:
            raise Unsupported(f"the constraint component {made} has no validator for this kind of shape")
        messages = sorted(g.objects(validator, SH.message), key=str) or sorted(g.objects(made, SH.message), key=str)
        select, ask = g.value(validator, SH.select), g.value(validator, SH.ask)
        if select is not None:
            query, projects_this = select_query(compiler, shape, validator, str(select), target, bindings, names)
            out.append((query, projects_this, made, messages, True, values))
        elif ask is not None:
            out.append((_ask_query(compiler, shape, validator, str(ask), target, bindings, names), True, made,
                        messages, False, values))
        else:
            raise Unsupported(f"the validator of {made} has neither sh:select nor sh:ask")
    return out


def _ask_query(compiler, shape, validator, text: str, target: str, bindings: dict, names) -> str:
    """A SELECT ?this ?value of the value nodes for which the ASK validator is false."""
    toks = list(tokens(text))
    ask = next((i for i, t in enumerate(toks) if t[0] == "word" and t[1].upper() == "ASK"), None)
    brace = next((i for i in range(ask or 0, len(toks)) if toks[i][1] == "{"), None)
    if ask is None or brace is None:
        raise ConfigError(f"the sh:ask of the validator {validator} is not an ASK query")
    if any(toks[i][1].upper() == "AS" and toks[i + 1][1][1:] == "value" for i in range(len(toks) - 1)):
        raise ConfigError(f"the ASK validator {validator} assigns the pre-bound variable value with AS")
    body = text[toks[brace][2]:]
    path = compiler.g.value(shape, SH.path)
    values = f"?this {compiler.path(path)} ?value ." if path is not None else "BIND (?this AS ?value)"
    select = f"{text[:toks[ask][2]]}SELECT ?this ?value WHERE {{ {values} FILTER NOT EXISTS {body} }}"
    query, _ = select_query(compiler, shape, validator, re.sub(r"\$value\b", "?value", select), target, bindings,
                            {*names})
    return query


def _local(predicate) -> str:
    text = str(predicate)
    return re.split(r"[#/:]", text)[-1]

