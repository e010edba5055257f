"""The vocabulary the compiler reads: constraint components, default messages, XSD lexical spaces, as-written datatypes.

XSD datatypes the store does not keep as written (a type derived from xsd:integer becomes
xsd:integer, xsd:dateTimeStamp becomes xsd:dateTime) are loaded under a datatype of ours,
AS_WRITTEN + the XSD name (server/validate/lexical.py), and read back as the XSD type.
"""

import rdflib
from rdflib.namespace import SH, XSD

AS_WRITTEN = "https://w3id.org/coderef/as-written#"
# name: (lowest, highest) value, None where unbounded
INTEGER_RANGES = {
    "int": (-2**31, 2**31 - 1), "long": (-2**63, 2**63 - 1), "short": (-2**15, 2**15 - 1), "byte": (-128, 127),
    "nonNegativeInteger": (0, None), "positiveInteger": (1, None), "negativeInteger": (None, -1),
    "nonPositiveInteger": (None, 0), "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255),
}
RETYPED = (*INTEGER_RANGES, "dateTimeStamp")
# Written in another form than the store's ("1"^^xsd:boolean, stored as "true"): loaded as
# written when so written, so that sh:in and sh:hasValue compare terms as written.
RELEXED = {XSD.boolean: ("true", "false")}


def as_written(datatype) -> rdflib.URIRef | None:
    """Our datatype for an XSD datatype the store would change, else None."""
    text = str(datatype)
    if text.startswith(str(XSD)) and text[len(str(XSD)):] in RETYPED:
        return rdflib.URIRef(AS_WRITTEN + text[len(str(XSD)):])
    return None


def written_literal(datatype: str, lexical: str) -> str | None:
    """Our datatype IRI for a literal the store would not keep as written, else None."""
    if datatype.startswith(str(XSD)) and datatype[len(str(XSD)):] in RETYPED:
        return AS_WRITTEN + datatype[len(str(XSD)):]
    kept = RELEXED.get(rdflib.URIRef(datatype))
    if kept is not None and lexical not in kept:
        return AS_WRITTEN + datatype[len(str(XSD)):]
    return None


def from_written(term):
    """A term read from the store, with our as-written datatype back to the XSD one."""
    if isinstance(term, rdflib.Literal) and term.datatype is not None and str(term.datatype).startswith(AS_WRITTEN):
        return rdflib.Literal(str(term), datatype=XSD[str(term.datatype)[len(AS_WRITTEN):]], normalize=False)
    return term


# Datatypes a literal of which is well-formed when Oxigraph can cast it (pySHACL, through
# rdflib's parsers, checks fewer: "20x6"^^xsd:gYear passes there).
_CHECKED = {
    XSD.boolean, XSD.integer, XSD.decimal, XSD.float, XSD.double, XSD.date, XSD.dateTime, XSD.time,
    XSD.gYear, XSD.gYearMonth, XSD.gMonth, XSD.gDay, XSD.gMonthDay, XSD.duration, XSD.dayTimeDuration,
    XSD.yearMonthDuration,
}
# The lexical spaces of the XSD datatypes Oxigraph does not cast, as regular expressions
# (SHACL: a literal whose lexical form is not in its datatype's is ill-typed, and fails
# sh:datatype). The types derived from xsd:integer are checked on their as-written literals
# (and their range, INTEGER_RANGES).
CHECKED = _CHECKED
_NAME = "[A-Za-z_:][A-Za-z0-9_:.\\-]*"
_LEXICAL = {
    XSD.hexBinary: "^([0-9A-Fa-f]{2})*$",
    XSD.base64Binary: "^(([A-Za-z0-9+/] ?){4})*(([A-Za-z0-9+/] ?){3}[A-Za-z0-9+/]|([A-Za-z0-9+/] ?){2}"
                      "[AEIMQUYcgkosw048] ?=|[A-Za-z0-9+/] ?[AQgw] ?= ?=)?$",
    XSD.language: "^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$",
    XSD.Name: f"^{_NAME}$",
    XSD.NCName: "^[A-Za-z_][A-Za-z0-9_.\\-]*$",
    XSD.NMTOKEN: "^[A-Za-z0-9_:.\\-]+$",
    XSD.token: "^([^\\s]+( [^\\s]+)*)?$",
    XSD.normalizedString: "^[^\\n\\r\\t]*$",
    **{XSD[name]: "^[+-]?[0-9]+$" for name in (
        "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
        "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte")},
    XSD.dateTimeStamp: "^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
}
LEXICAL = _LEXICAL


def component(parameter) -> rdflib.URIRef:
    """The SHACL Core constraint component of a parameter (sh:minCount: sh:MinCountConstraintComponent)."""
    if parameter == SH.flags:  # read with sh:pattern
        return SH.PatternConstraintComponent
    if parameter in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
        name = str(parameter)[len(str(SH)):]
        return SH[name[0].upper() + name[1:] + "ConstraintComponent"]
    name = str(parameter)[len(str(SH)):]
    return SH[name[0].upper() + name[1:] + "ConstraintComponent"]


def default_message(g: rdflib.Graph, c, o, path=None) -> str:
    """The message of a result whose shape has no sh:message, worded as pySHACL words it
    where that is short ({$this} is filled in by the report)."""
    def name(term):
        if isinstance(term, rdflib.URIRef):
            try:
                return g.namespace_manager.normalizeUri(term)
            except (ValueError, KeyError):  # no prefix for it
                return f"<{term}>"
        return str(term)

    on = f"{{$this}}->{name(path)}" if isinstance(path, rdflib.URIRef) else "{$this}"
    texts = {
        SH["class"]: f"Value does not have class {name(o)}",
        SH.datatype: f"Value is not Literal with datatype {name(o)}",
        SH.nodeKind: f"Value is not of Node Kind {name(o)}",
        SH["in"]: "Value is not in the list of allowed values",
        SH.pattern: f"Value does not match pattern '{o}'",
        SH.minLength: f"String length not >= {o}",
        SH.maxLength: f"String length not <= {o}",
        SH.minInclusive: f"Value is not >= {o}",
        SH.maxInclusive: f"Value is not <= {o}",
        SH.minExclusive: f"Value is not > {o}",
        SH.maxExclusive: f"Value is not < {o}",
        SH.languageIn: "String language is not in the allowed languages",
        SH.node: f"Value does not conform to Shape {name(o)}",
        SH["not"]: f"Value conforms to Shape {name(o)}, which it must not",
        SH["and"]: "Value does not conform to all of the shapes of sh:and",
        SH["or"]: "Value does not conform to any of the shapes of sh:or",
        SH.xone: "Value does not conform to exactly one of the shapes of sh:xone",
        SH.minCount: f"Less than {o} values on {on}",
        SH.maxCount: f"More than {o} values on {on}",
        SH.hasValue: f"Node {on} does not have value {name(o)}",
        SH.uniqueLang: "More than one String shares the same Language",
        SH.equals: f"Value of {on} != {name(o)}",
        SH.disjoint: f"Value of {on} is also a value of {name(o)}",
        SH.lessThan: f"Value of {on} is not < a value of {name(o)}",
        SH.lessThanOrEquals: f"Value of {on} is not <= a value of {name(o)}",
        SH.closed: "Node has a property the closed shape does not allow",
        SH.qualifiedMinCount: f"Fewer than {o} values conform to the qualified value shape",
        SH.qualifiedMaxCount: f"More than {o} values conform to the qualified value shape",
    }
    return texts.get(c, f"Value breaks {name(component(c))}")


