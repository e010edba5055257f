"""Binding parameter values: a code, payer, date or number as a person writes it, as a term of the graph.

A code notation must exist in the graph (404 otherwise) and fit a code system's pattern (400
otherwise); values become terms bound by value, never text pasted into a query.
"""

import re
from datetime import date

from ..errors import BadRequest, NotFound
from ..namespaces import CR, ID, SKOS, XSD
from ..rdf.terms import IRI, Literal
from .model import Param

# Notation patterns of each code system (id/<scheme>/<notation>); a `code` that matches
# none of them is malformed (400), one that matches but is not in the graph unknown (404).
CODE_PATTERNS = {
    "cpt": re.compile(r"^[0-9]{4}[0-9A-Z]$"),  # Category I digits; II F, III T, PLA U, M, A
    "hcpcs": re.compile(r"^[A-Z][0-9]{4}$"),
    # Icd10cmNotationShape's pattern: the official set has U07.1 and a letter second (QA0.0101).
    "icd10cm": re.compile(r"^[A-Z][0-9A-Z]{2}(\.[0-9A-Z]{1,4})?$"),
    "modifier": re.compile(r"^[0-9A-Z]{2}$"),
    "pos": re.compile(r"^[0-9]{2}$"),
}
# An icd10cm-list: codes separated by spaces, commas or semicolons; at most MAX_LIST of them.
LIST_SEPARATORS = re.compile(r"[\s,;]+")
MAX_LIST = 50
PAYER_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
CODE_CLASSES = ("ProcedureCode", "DiagnosisCode", "Modifier", "PlaceOfService")
MAX_STRING = 200
MAX_LIST_CHARS = 4 * MAX_STRING  # of an icd10cm-list as written


_LOOKUP_CODE = f"""
PREFIX skos: <{SKOS}>
PREFIX cr: <{CR}>
SELECT ?code ?class WHERE {{
  ?code skos:notation ?notation ; a ?class .
  VALUES ?class {{ {' '.join('cr:' + c for c in CODE_CLASSES)} }}
}}
"""
_LOOKUP_IRI = f"""
PREFIX cr: <{CR}>
SELECT ?class WHERE {{ ?code a ?class . VALUES ?class {{ {' '.join('cr:' + c for c in CODE_CLASSES)} cr:Payer }} }}
"""


def code_schemes(notation: str) -> list[str]:
    """The code systems whose notation pattern `notation` fits."""
    return [s for s, pattern in CODE_PATTERNS.items() if pattern.match(notation)]


def resolve_code(store, value: str, name: str = "code", diagnosis_only: bool = False) -> IRI:
    """The IRI of the code written `value` ("0584T", "E10.649", or "pos/22" to pick a scheme)."""
    text = (value or "").strip()
    scheme = None
    if "/" in text:
        scheme, _, text = text.partition("/")
        if scheme not in CODE_PATTERNS:
            raise BadRequest(f"parameter {name!r}: unknown code system {scheme!r}; use one of {', '.join(CODE_PATTERNS)}")
    notation = text.upper()
    schemes = code_schemes(notation)
    if diagnosis_only:
        schemes = [s for s in schemes if s == "icd10cm"]
    if scheme:
        schemes = [s for s in schemes if s == scheme]
    if not notation or not schemes:
        wanted = "an ICD-10-CM code such as E10.649" if diagnosis_only else "a code such as 0584T, G0341, E10.649, 22 or Q0"
        raise BadRequest(f"parameter {name!r}: {value!r} is not {wanted}")
    if scheme:
        iri = f"{ID}{scheme}/{notation}"
        if not store.select(_LOOKUP_IRI, bindings={"code": IRI(iri)}).rows:
            raise NotFound(f"parameter {name!r}: no code {scheme}/{notation} in the reference")
        return IRI(iri)
    rows = store.select(_LOOKUP_CODE, bindings={"notation": Literal(notation)}).rows
    found = {r["code"]["value"]: r["class"]["value"].removeprefix(CR) for r in rows}
    if diagnosis_only:
        found = {iri: c for iri, c in found.items() if c == "DiagnosisCode"}
    if not found:
        raise NotFound(f"parameter {name!r}: no code {notation} in the reference")
    if len(found) > 1:
        # A procedure or diagnosis code wins over a modifier or POS code of the same notation.
        preferred = [iri for iri, c in found.items() if c in ("ProcedureCode", "DiagnosisCode")]
        if len(preferred) == 1:
            return IRI(preferred[0])
        choices = ", ".join(sorted(iri.removeprefix(ID) for iri in found))
        pages = ", ".join(sorted("/codes/" + iri.removeprefix(ID) for iri in found))
        raise BadRequest(f"parameter {name!r}: {notation} names more than one code ({choices}); write it as one of those (their pages: {pages})")
    return IRI(next(iter(found)))


def resolve_payer(store, value: str, name: str = "payer") -> IRI:
    slug = (value or "").strip().lower()
    if not PAYER_SLUG.match(slug):
        raise BadRequest(f"parameter {name!r}: {value!r} is not a payer slug such as medicare or aetna (the payers are listed at /coverage)")
    iri = f"{ID}payer/{slug}"
    rows = store.select(_LOOKUP_IRI, bindings={"code": IRI(iri)}).rows
    if not any(r["class"]["value"] == CR + "Payer" for r in rows):
        raise NotFound(f"parameter {name!r}: no payer {slug} in the reference (the payers are listed at /coverage)")
    return IRI(iri)


def bind_list(store, param: Param, value: str) -> dict:
    """The bindings of an icd10cm-list parameter: each code resolved (400 or 404 naming it),
    repeats dropped, as VALUES columns (tuples of IRIs) of the variables it binds: with one
    variable, the codes; with two, every ordered pair of distinct codes."""
    name = param.name
    if len(value) > MAX_LIST_CHARS:
        raise BadRequest(f"parameter {name!r} is longer than {MAX_LIST_CHARS} characters")
    written = [w for w in LIST_SEPARATORS.split(value.strip()) if w]
    if not written:
        raise BadRequest(f"parameter {name!r}: {value!r} names no ICD-10-CM code; write codes such as E10.9 R73.9")
    if len(written) > MAX_LIST:
        raise BadRequest(f"parameter {name!r}: {len(written)} codes; at most {MAX_LIST} are taken")
    codes = []
    for word in written:
        iri = resolve_code(store, word, name, diagnosis_only=True)
        if iri not in codes:
            codes.append(iri)
    if len(param.variables) == 1:
        return {param.variables[0]: tuple(codes)}
    pairs = [(a, b) for a in codes for b in codes if a != b]
    first, second = param.variables
    return {first: tuple(a for a, _ in pairs), second: tuple(b for _, b in pairs)}


def bind_value(store, param: Param, value: str):
    """A terms.IRI or terms.Literal for one parameter value, validated."""
    name = param.name
    if param.type == "code":
        return resolve_code(store, value, name)
    if param.type == "icd10cm":
        return resolve_code(store, value, name, diagnosis_only=True)
    if param.type == "payer":
        return resolve_payer(store, value, name)
    if param.type == "date":
        text = value.strip().lower()
        if text == "today":
            return Literal(date.today().isoformat(), XSD + "date")
        try:
            return Literal(date.fromisoformat(text).isoformat(), XSD + "date")
        except ValueError:
            raise BadRequest(f"parameter {name!r}: {value!r} is not a date written YYYY-MM-DD") from None
    if param.type == "integer":
        text = value.strip()
        if not re.match(r"^[0-9]{1,9}$", text):
            raise BadRequest(f"parameter {name!r}: {value!r} is not a whole number from 0")
        return Literal(str(int(text)), XSD + "integer")
    if len(value) > MAX_STRING:
        raise BadRequest(f"parameter {name!r} is longer than {MAX_STRING} characters")
    return Literal(value)
