"""Code pages for every scheme: /codes/<scheme>/<notation>, a choice where a notation names two codes, case redirects.

`/codes/<notation>` stays the address of a code whose notation is its own (0584T, E10.649);
a notation shared by a modifier and a place of service ("22") answers with the pages that
exist (300 Multiple Choices); a notation written in another case is redirected to the one
the graph writes (0584t -> 0584T), so every page has one address.
"""

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ...namespaces import CR, ID, SKOS, CODE_SCHEMES
from ...rdf.terms import Literal
from ...errors import CoderefError
from ..extensions import get_store
from ..links import local_href, short_name, value

bp = Blueprint("codes", __name__)

SCHEME_NAMES = {"cpt": "CPT", "hcpcs": "HCPCS Level II", "icd10cm": "ICD-10-CM", "modifier": "Modifier",
                "pos": "Place of service"}
# The code page's sections, in order; each is a partial pages/code/_<name>.html that shows
# itself only when it has something to say. A new section is a partial and a name here.
CODE_SECTIONS = ["diagram", "supports", "icd_notes", "hierarchy", "applies", "performed", "bundled", "modifiers", "indications", "sites",
                 "related", "coverage", "guidance", "payment", "workflow", "gaps", "sources"]
SCHEMES_ROUTE = "any(" + ", ".join(CODE_SCHEMES) + ")"
_CLASSES = ("ProcedureCode", "DiagnosisCode", "Modifier", "PlaceOfService")

_NAMED = f"""
PREFIX skos: <{SKOS}>
PREFIX cr: <{CR}>
SELECT ?code ?class ?label WHERE {{
  ?code skos:notation ?notation ; a ?class .
  VALUES ?class {{ {' '.join('cr:' + c for c in _CLASSES)} }}
  OPTIONAL {{ ?code skos:prefLabel ?label }}
}}
"""


def code_path(scheme: str, notation: str) -> str:
    """The page of a code: /codes/<notation> when the notation is its own, else /codes/<scheme>/<notation>."""
    if scheme in ("modifier", "pos"):
        return url_for("codes.scheme_code", scheme=scheme, notation=notation)
    return url_for("pages.code", notation=notation)


def codes_named(store, notation: str) -> list[dict]:
    """The codes of every scheme written `notation`: {scheme, notation, iri, label, kind}."""
    found = {}
    for row in store.select(_NAMED, bindings={"notation": Literal(notation)}).rows:
        iri = row["code"]["value"]
        scheme = iri.removeprefix(ID).split("/", 1)[0]
        found[iri] = {"scheme": scheme, "scheme_name": SCHEME_NAMES.get(scheme, scheme), "notation": notation,
                      "iri": iri, "label": (row.get("label") or {}).get("value"),
                      "kind": row["class"]["value"].removeprefix(CR), "href": code_path(scheme, notation)}
    return sorted(found.values(), key=lambda c: c["scheme"])


def _with_query(path: str) -> str:
    return f"{path}?{urlencode(list(request.args.items(multi=True)))}" if request.args else path


def code_record(notation: str) -> dict:
    from ...codes import describe_code  # noqa: PLC0415 (written alongside the questions)

    try:
        record = describe_code(get_store(), notation)
    except CoderefError as err:
        # The page has no parameters: "parameter 'notation': no code 9999T" reads as API talk.
        err.message = re.sub(r"^parameter '\w+': ", "", err.message)
        raise
    if record.get("scheme") == "icd10cm":
        record["supports"] = supported_procedures(record["notation"])
        record["icdNotes"] = icd_notes(record["notation"])
    return record


def icd_notes(icd: str) -> list[dict]:
    """For a diagnosis code: the ICD-10-CM notes that apply to it, grouped by kind (server/icd_notes_page.py)."""
    from ...icd_notes_page import group_notes  # noqa: PLC0415
    from ..extensions import get_catalogue  # noqa: PLC0415

    return group_notes(get_catalogue().run(get_store(), "icd_notes", {"icd": icd}).rows)


def supported_procedures(icd: str) -> list[dict]:
    """For a diagnosis code: the procedure codes that list it among their indications, one
    entry per (procedure, role), from the `codes_for_indication` question."""
    from ..extensions import get_catalogue  # noqa: PLC0415

    answer = get_catalogue().run(get_store(), "codes_for_indication", {"icd": icd})
    entries: dict = {}
    for row in answer.rows:
        key = (value(row, "code"), value(row, "role"))
        entry = entries.setdefault(key, {
            "code": {"iri": value(row, "code"), "notation": value(row, "notation"), "label": value(row, "label")},
            "diagnosis": {"iri": value(row, "diagnosis"), "notation": value(row, "diagnosisNotation")},
            "role": {"iri": value(row, "role"), "label": value(row, "roleLabel") or short_name(value(row, "role", ""))},
            "criteria": value(row, "criteria"), "confidence": value(row, "confidence"), "sources": []})
        source = {"iri": value(row, "source"), "title": value(row, "sourceTitle"), "url": value(row, "sourceUrl")}
        if source["iri"] and source not in entry["sources"]:
            entry["sources"].append(source)
    return sorted(entries.values(), key=lambda e: (e["code"]["notation"] or "", e["role"]["label"] or ""))


def record_diagram(record: dict):
    from ..diagram import code_diagram  # noqa: PLC0415

    return code_diagram(record, local_href)


def diagram_svg(record: dict) -> str:
    """The record's diagram, laid out once per build and kept with the store."""
    from ..diagram import kept_svg  # noqa: PLC0415

    return kept_svg(get_store(), record["iri"], lambda: record_diagram(record).svg())


def at_a_glance(record: dict) -> list[dict]:
    """The few lines a person reads first: how much of each kind the page holds, and where."""
    def count(items, one, many):
        return f"{len(items)} {one if len(items) == 1 else many}"

    lines = []
    if record.get("bundledServices"):
        lines.append({"text": f"Includes {count(record['bundledServices'], 'service', 'services')}"
                              f" ({sum(len(b['reportedAloneBy']) for b in record['bundledServices'])} codes not separately reportable)",
                      "href": "#bundled"})
    if record.get("modifiers"):
        notations = sorted({m["modifier"]["notation"] for m in record["modifiers"]})
        lines.append({"text": f"Modifiers: {', '.join(notations)}", "href": "#modifiers"})
    if record.get("indications"):
        lines.append({"text": f"Supported by {count(record['indications'], 'ICD-10-CM code', 'ICD-10-CM codes')}", "href": "#indications"})
    if record.get("sitesOfService"):
        places = sorted({s["placeOfService"]["notation"] for s in record["sitesOfService"] if s.get("placeOfService")})
        lines.append({"text": f"Performed at POS {', '.join(places)}" if places else count(record["sitesOfService"], "site", "sites"),
                      "href": "#sites"})
    positions = record.get("payerPositions") or []
    if positions:
        statuses: dict = {}
        for p in positions:
            label = (p.get("status") or {}).get("label") or "unknown"
            statuses[label] = statuses.get(label, 0) + 1
        payers = len({(p.get("payer") or {}).get("iri") for p in positions})
        lines.append({"text": f"{payers} payers: " + ", ".join(f"{n} {label}" for label, n in sorted(statuses.items(), key=lambda i: -i[1])),
                      "href": "#coverage"})
    if record.get("appliesTo"):
        lines.append({"text": "Applies to " + ", ".join(sorted({a["code"]["notation"] for a in record["appliesTo"]})), "href": "#applies"})
    if record.get("performedHere"):
        lines.append({"text": "Where " + ", ".join(sorted({s["code"]["notation"] for s in record["performedHere"]})) + " is performed",
                      "href": "#performed"})
    if record.get("supports"):
        lines.append({"text": "Supports " + ", ".join(sorted({s["code"]["notation"] for s in record["supports"]})), "href": "#supports"})
    if record.get("dataGaps"):
        lines.append({"text": count(record["dataGaps"], "known gap", "known gaps") + " in the data", "href": "#gaps"})
    return lines


def code_page(notation: str, scheme: str | None = None):
    """The page of one code, a redirect to its canonical address, or the choice of codes a notation names."""
    if scheme is None:
        named = codes_named(get_store(), notation.strip().upper())
        own = [c for c in named if c["kind"] in ("ProcedureCode", "DiagnosisCode")]
        if len(named) > 1 and len(own) != 1:
            return render_template("pages/code_choice.html", notation=notation.strip().upper(), choices=named), 300
    record = code_record(f"{scheme}/{notation}" if scheme else notation)
    canonical = code_path(record["scheme"], record["notation"])
    if record["notation"] != notation or (scheme is None and canonical != url_for("pages.code", notation=notation)):
        return redirect(_with_query(canonical), 301)
    gaps = {short_name(p) for gap in record.get("dataGaps", []) for p in gap.get("missingProperties", [])
            if any(record["iri"] == about for about in gap.get("about", [])) or not gap.get("about")}
    return render_template("pages/code.html", record=record, diagram_svg=diagram_svg(record),
                           gap_properties=gaps, sections=CODE_SECTIONS, glance=at_a_glance(record), svg_href=canonical + ".svg",
                           scheme_name=SCHEME_NAMES.get(record["scheme"], record["scheme"]))


def code_svg(notation: str, scheme: str | None = None):
    svg = diagram_svg(code_record(f"{scheme}/{notation}" if scheme else notation))
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + svg, mimetype="image/svg+xml")


@bp.get(f"/codes/<{SCHEMES_ROUTE}:scheme>/<notation>")
def scheme_code(scheme, notation):
    if notation.endswith(".svg"):
        return code_svg(notation.removesuffix(".svg"), scheme)
    return code_page(notation, scheme)
