"""Links and names of the graph's things on this site: a code's page, an /id/ page, the short name of an IRI."""

from urllib.parse import quote

from flask import url_for

from ..namespaces import ID

# Schemes whose code pages are /codes/<notation>. Modifiers and places of service share
# notations with each other ("22" is both): theirs are /codes/<scheme>/<notation>.
CODE_PAGE_SCHEMES = ("cpt", "hcpcs", "icd10cm")


def split_id(iri: str):
    """(scheme, rest) of an IRI under the identifier base, or None."""
    if not iri or not iri.startswith(ID):
        return None
    scheme, _, rest = iri[len(ID):].partition("/")
    return scheme, rest


def local_href(iri: str | None) -> str | None:
    """The page of `iri` on this site, an external http(s) address as it is, or None."""
    if not iri:
        return None
    parts = split_id(iri)
    if parts:
        scheme, rest = parts
        if scheme in CODE_PAGE_SCHEMES and rest and "/" not in rest:
            return url_for("pages.code", notation=rest)
        if scheme in ("modifier", "pos") and rest and "/" not in rest:
            return url_for("codes.scheme_code", scheme=scheme, notation=rest)
        return "/id/" + quote(iri[len(ID):], safe="/-._~")
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def short_name(iri: str) -> str:
    """The last segment of an IRI: a readable stand-in when no label is known."""
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def value(row: dict, key: str, default=None):
    term = row.get(key)
    return term["value"] if term else default
