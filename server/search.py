"""Finding codes: by notation, by words that forgive spelling and spacing, through diagnoses and related products.

Words match a text once both are brought to one key: lower case, British spellings read as
American ("hypoglycaemia" as "hypoglycemia", "oedema" as "edema"), and everything but
letters and digits dropped, so "isletcell" finds "islet cell" and "islet-cell". The same key
is computed on both sides: in Python for the words, in SPARQL (REPLACE) for the texts.
A query that names a code system ("modifier 22", "POS 21", "CPT 0584T") asks for that
code alone, and `exact_page` tells the search page where to jump on an exact notation.
"""

import re

from .errors import BadRequest
from .namespaces import CR, DCT, ID, SCHEMA, SKOS
from .questions import CODE_PATTERNS
from .rdf.terms import Literal

__all__ = ["exact_page", "scheme_query", "search_codes", "word_key"]

CODE_CLASSES = ("ProcedureCode", "DiagnosisCode", "Modifier", "PlaceOfService")
MAX_WORDS = 8
NOTATION_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]{0,7}$")
# What people write before a notation to say its code system.
SCHEME_WORDS = {"modifier": "modifier", "mod": "modifier", "pos": "pos", "place of service": "pos",
                "cpt": "cpt", "hcpcs": "hcpcs", "icd": "icd10cm", "icd10": "icd10cm", "icd-10": "icd10cm",
                "icd10cm": "icd10cm", "icd-10-cm": "icd10cm"}
SCHEME_QUERY = re.compile(r"^(" + "|".join(sorted(map(re.escape, SCHEME_WORDS), key=len, reverse=True)) + r")\s*[:#]?\s*([A-Za-z0-9.]{2,8})$",
                          re.IGNORECASE)
# British -> American, as (pattern, replacement) in the syntax both Python and SPARQL REPLACE read.
SPELLINGS = (("a(e[msd])", "$1"), ("o(e[dsa])", "$1"))


def word_key(text: str) -> str:
    """A word or a text as search compares it (see the module's docstring)."""
    key = text.lower()
    for pattern, replacement in SPELLINGS:
        key = re.sub(pattern, replacement.replace("$", "\\"), key)
    return re.sub(r"[^a-z0-9]", "", key)


def _text_key(variable: str) -> str:
    """The SPARQL expression of word_key over a variable's text."""
    expression = f"LCASE(STR(?{variable}))"
    for pattern, replacement in SPELLINGS:
        expression = f'REPLACE({expression}, "{pattern}", "{replacement}")'
    return f'REPLACE({expression}, "[^a-z0-9]", "")'


def scheme_query(text: str) -> tuple[str, str] | None:
    """(scheme, notation) of a query such as "modifier 22" or "POS: 21", or None."""
    match = SCHEME_QUERY.match(text.strip())
    if not match:
        return None
    scheme, notation = SCHEME_WORDS[match.group(1).lower()], match.group(2).upper()
    return (scheme, notation) if CODE_PATTERNS[scheme].match(notation) else None


_CLASSES = " ".join("cr:" + c for c in CODE_CLASSES)
_PREFIXES = f"PREFIX skos: <{SKOS}>\nPREFIX cr: <{CR}>\nPREFIX dct: <{DCT}>\nPREFIX schema: <{SCHEMA}>\n"
_TEXT_PROPERTIES = "skos:prefLabel skos:altLabel cr:shortDescriptor cr:plainDescription"
_PRODUCT_PROPERTIES = "schema:name skos:prefLabel skos:altLabel cr:nonproprietaryName"
FIELD_RANK = {SKOS + "prefLabel": (2, "label"), SKOS + "altLabel": (3, "altLabel"),
              CR + "shortDescriptor": (4, "shortDescriptor"), CR + "plainDescription": (5, "description")}
_TAIL = """
  VALUES ?class { %s }
  OPTIONAL { ?code skos:prefLabel ?label }
  OPTIONAL { ?code cr:codeSystem ?system . ?system skos:prefLabel ?scheme }
}
""" % _CLASSES

_BY_NOTATION = _PREFIXES + """
SELECT ?code ?notation ?label ?class ?scheme WHERE {
  ?code skos:notation ?notation ; a ?class .
  FILTER(STRSTARTS(UCASE(STR(?notation)), ?prefix))""" + _TAIL

_BY_INDICATION_NOTATION = _PREFIXES + """
SELECT ?code ?notation ?label ?class ?scheme ?via WHERE {
  ?dx skos:notation ?via .
  FILTER(STRSTARTS(UCASE(STR(?via)), ?prefix))
  ?indication cr:diagnosis ?dx .
  ?code cr:indication ?indication ; skos:notation ?notation ; a ?class .""" + _TAIL


def _words_query(n: int, via: str) -> str:
    """A query for codes whose texts hold all of ?w0..?w{n-1} (as word keys), their own
    (via "code"), their indications' diagnoses' ("dx") or a related product's ("product");
    its shape depends only on n, the words themselves are bound by value."""
    subject = {"code": "code", "dx": "dx", "product": "product"}[via]
    properties = {"code": _TEXT_PROPERTIES, "dx": "skos:prefLabel skos:altLabel", "product": _PRODUCT_PROPERTIES}[via]
    others = "\n".join(
        f"  FILTER EXISTS {{ ?{subject} ?f{i} ?t{i} . VALUES ?f{i} {{ {properties} }}"
        f" FILTER(CONTAINS({_text_key(f't{i}')}, ?w{i})) }}"
        for i in range(1, n))
    first = f"""
  ?{subject} ?field ?text .
  VALUES ?field {{ {properties} }}
  FILTER(CONTAINS({_text_key('text')}, ?w0))
{others}"""
    if via == "dx":
        return _PREFIXES + f"""
SELECT ?code ?notation ?label ?class ?scheme ?via WHERE {{{first}
  ?indication cr:diagnosis ?dx .
  ?dx skos:notation ?via .
  ?code cr:indication ?indication ; skos:notation ?notation ; a ?class .""" + _TAIL
    if via == "product":
        return _PREFIXES + f"""
SELECT ?code ?notation ?label ?class ?scheme ?via WHERE {{{first}
  ?product a cr:Product ; cr:administeredBy ?code .
  OPTIONAL {{ ?product schema:name ?productName }}
  BIND(COALESCE(?productName, "a product") AS ?via)
  ?code skos:notation ?notation ; a ?class .""" + _TAIL
    return _PREFIXES + f"""
SELECT ?code ?notation ?label ?class ?scheme ?field WHERE {{{first}
  ?code skos:notation ?notation ; a ?class .""" + _TAIL


def search_codes(store, q: str, limit: int = 20) -> list[dict]:
    """Codes by notation prefix or by words in labels, alternative labels and descriptions
    (every word must appear, spelling forgiven), procedure codes through the diagnoses of
    their indications and through the products they administer; "modifier 22" asks for
    that code. Rows {notation, iri, label, scheme, match}, best first."""
    text = (q or "").strip()
    if not text:
        raise BadRequest("parameter 'q' is required: a code (0584T) or words (portal vein)")
    if len(text) > 200:
        raise BadRequest("parameter 'q' is longer than 200 characters")
    found: dict[str, tuple] = {}

    def offer(row, rank, match):
        iri = row["code"]["value"]
        procedure = row["class"]["value"] == CR + "ProcedureCode"
        key = (rank if rank < 2 else 2, 0 if procedure else 1, rank, row["notation"]["value"])
        if iri not in found or key < found[iri][0]:
            found[iri] = (key, {"notation": row["notation"]["value"], "iri": iri,
                                "label": row.get("label", {}).get("value"),
                                "scheme": row.get("scheme", {}).get("value"), "match": match})

    named = scheme_query(text)
    if named:
        scheme, notation = named
        for row in store.select(_BY_NOTATION, bindings={"prefix": Literal(notation)}).rows:
            if row["code"]["value"] == f"{ID}{scheme}/{notation}":
                offer(row, 0, "notation")
        if found:
            return [entry for _, entry in found.values()]

    if NOTATION_LIKE.match(text):
        prefix = Literal(text.upper())
        for row in store.select(_BY_NOTATION, bindings={"prefix": prefix}).rows:
            exact = row["notation"]["value"].upper() == text.upper()
            offer(row, 0 if exact else 1, "notation")
        for row in store.select(_BY_INDICATION_NOTATION, bindings={"prefix": prefix}).rows:
            offer(row, 6, f"indication {row['via']['value']}")

    words = sorted({word_key(w) for w in re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", text.lower())} - {""},
                   key=len, reverse=True)
    words = [w for w in words if len(w) > 1][:MAX_WORDS]
    if words:
        bindings = {f"w{i}": Literal(w) for i, w in enumerate(words)}
        for row in store.select(_words_query(len(words), "code"), bindings=bindings).rows:
            rank, name = FIELD_RANK.get(row["field"]["value"], (5, "description"))
            offer(row, rank, name)
        for row in store.select(_words_query(len(words), "dx"), bindings=bindings).rows:
            offer(row, 6, f"indication {row['via']['value']}")
        for row in store.select(_words_query(len(words), "product"), bindings=bindings).rows:
            offer(row, 7, f"product {row['via']['value']}")

    ranked = sorted(found.values(), key=lambda item: item[0])
    return [entry for _, entry in ranked[: max(1, int(limit))]]


def exact_page(results: list[dict], q: str) -> str | None:
    """The code page path (cpt/0584T, modifier/22) to jump to when `q` names one code
    exactly, or the bare notation when it names several (their choice page); else None."""
    exact = [r for r in results if r["match"] == "notation" and r["notation"].upper() in
             {q.strip().upper(), (scheme_query(q) or ("", ""))[1]}]
    if not exact:
        return None
    if len(exact) == 1:
        return exact[0]["iri"].removeprefix(ID)
    return exact[0]["notation"]
