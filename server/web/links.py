"""Links and names of the graph's things on this site: a code's page, an /id/ page, the short name of an IRI."""

import re
from urllib.parse import quote

from flask import url_for
from markupsafe import Markup, escape

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


# A site path inside a message ("/codes/modifier/22", "/coverage"): the words end it, and so
# does trailing punctuation.
SITE_PATH = re.compile(r"(?<![\w/])(/(?:codes|questions|coverage|id|search|check-claim|validate|changes|docs/api)(?:/[\w.\-]+)*)")


def linked_paths(message: str) -> Markup:
    """A message, escaped, with the site's paths in it as links: an error points at the page to go to."""
    out = []
    for i, part in enumerate(SITE_PATH.split(str(message or ""))):
        if i % 2:
            path = part.rstrip(".")
            out.append(Markup('<a href="{0}">{0}</a>{1}').format(path, part[len(path):]))
        else:
            out.append(escape(part))
    return Markup("").join(out)


def coder_words(message: str) -> str:
    """"parameter 'as_of': ..." as a form's reader says it: "As of: ..."."""
    return re.sub(r"^parameter '(\w+)'", lambda m: m.group(1).replace("_", " ").capitalize(), str(message or ""))
