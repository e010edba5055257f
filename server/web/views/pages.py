"""The pages for people: a code, a question, the coverage matrix, the validation report.

Everything from the data reaches the templates as text and is escaped by Jinja; the one
exception is the relationship diagram, SVG drawn by Graphviz from escaped labels
(see server/web/diagram.py).
"""

import re
from collections import OrderedDict
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ...errors import CoderefError
from ..extensions import get_store
from ...namespaces import ID, sparql_prefixes
from ...payers import payer_names

bp = Blueprint("pages", __name__)

# Schemes whose things have a code page. Modifiers and places of service share notations
# with each other ("22" is both), so they keep their /id/ page.
CODE_PAGE_SCHEMES = ("cpt", "hcpcs", "icd10cm")

# Coverage statuses from the most to the least favourable, for the legend and ordering.
STATUS_ORDER = ("covered", "covered-with-criteria", "clinical-trial-only", "investigational",
                "not-covered", "no-published-policy", "position-not-retrieved")


# ---------------------------------------------------------------- links


def split_id(iri: str):
    """(scheme, rest) of an IRI under the identifier base, or None."""
    if not iri or not iri.startswith(ID):
        return None
    scheme, _, rest = iri[len(ID):].partition("/")
    return scheme, rest


@bp.app_template_global()
def local_href(iri: str | None) -> str | None:
    """The page of `iri` on this site, an external http(s) address as it is, or None."""
    if not iri:
        return None
    parts = split_id(iri)
    if parts:
        scheme, rest = parts
        if scheme in CODE_PAGE_SCHEMES and rest and "/" not in rest:
            return url_for("pages.code", notation=rest)
        return "/id/" + quote(iri[len(ID):], safe="/-._~")
    if iri.startswith(("http://", "https://")):
        return iri
    return None


@bp.app_template_filter()
@bp.app_template_global()
def short_name(iri: str) -> str:
    """The last segment of an IRI: a readable stand-in when no label is known."""
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def value(row: dict, key: str, default=None):
    term = row.get(key)
    return term["value"] if term else default


# ---------------------------------------------------------------- coverage

COVERAGE = sparql_prefixes() + """
SELECT ?code ?notation ?payer ?payerName ?parentName ?policy ?policyId ?policyTitle
       ?position ?status ?statusLabel ?context ?contextLabel ?criteria ?source ?sourceTitle ?sourceUrl
WHERE {
  ?position cr:appliesTo ?code ; cr:coverageStatus ?status .
  # A position may stand without a policy ("no published policy" is itself a position);
  # the policy's own facts are nested so that an unbound ?policy never matches any policy.
  OPTIONAL {
    ?policy a cr:CoveragePolicy ; cr:position ?position .
    OPTIONAL { ?policy cr:issuedBy ?issuer }
    OPTIONAL { ?policy cr:policyIdentifier ?policyId }
    OPTIONAL { ?policy dct:title ?policyTitle }
    OPTIONAL { ?policy dct:source ?policySource }
  }
  OPTIONAL { ?position cr:payer ?positionPayer }
  BIND(COALESCE(?positionPayer, ?issuer) AS ?payer)
  FILTER(BOUND(?payer))
  ?code skos:notation ?notation .
  OPTIONAL { ?payer schema:name ?payerName }
  OPTIONAL { ?payer schema:parentOrganization/schema:name ?parentName }
  OPTIONAL { ?status skos:prefLabel ?statusLabel }
  OPTIONAL { ?position cr:clinicalContext ?context . OPTIONAL { ?context skos:prefLabel ?contextLabel } }
  OPTIONAL { ?position cr:clinicalCriteria ?criteria }
  OPTIONAL { ?position dct:source ?positionSource }
  BIND(COALESCE(?positionSource, ?policySource) AS ?source)
  OPTIONAL { ?source dct:title ?sourceTitle }
  OPTIONAL { ?source schema:url ?sourceUrl }
}
"""


def coverage_matrix(store):
    """Payers (rows) x codes (columns); each cell the list of positions, each with its
    status, clinical context, policy and sources."""
    rows = store.select(COVERAGE).rows
    codes, payers, cells = {}, {}, {}
    for row in rows:
        code, payer = value(row, "code"), value(row, "payer")
        codes[code] = value(row, "notation")
        payers.setdefault(payer, {"iri": payer, "name": value(row, "payerName") or short_name(payer),
                                  "parent": value(row, "parentName")})
        positions = cells.setdefault((payer, code), OrderedDict())
        key = value(row, "position")
        if key not in positions:
            status = value(row, "status")
            positions[key] = {
                "status": short_name(status),
                "status_label": value(row, "statusLabel") or short_name(status),
                "context": value(row, "context"),
                "context_label": value(row, "contextLabel") or (short_name(value(row, "context")) if row.get("context") else None),
                "criteria": value(row, "criteria"),
                "policy": value(row, "policy"),
                "policy_id": value(row, "policyId"),
                "policy_title": value(row, "policyTitle"),
                "sources": OrderedDict(),
            }
        source = value(row, "source")
        if source:
            positions[key]["sources"].setdefault(source, {
                "iri": source, "title": value(row, "sourceTitle") or short_name(source), "url": value(row, "sourceUrl")})

    def rank(position):
        status = position["status"]
        return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER),
                position["context_label"] or "")

    grid = {key: sorted(positions.values(), key=rank) for key, positions in cells.items()}
    for positions in grid.values():
        for position in positions:
            position["sources"] = list(position["sources"].values())
    code_list = sorted(({"iri": iri, "notation": notation} for iri, notation in codes.items()),
                       key=lambda c: c["notation"])
    payer_list = sorted(payers.values(), key=lambda p: (p["parent"] or p["name"]).lower() + p["name"].lower())
    return code_list, payer_list, grid


def status_legend(store):
    rows = store.select(sparql_prefixes() + """
        SELECT ?status ?label ?definition WHERE {
          ?status skos:inScheme <https://w3id.org/coderef/id/vocab/coverage-status> ; skos:prefLabel ?label .
          OPTIONAL { ?status skos:definition ?definition }
        }""").rows
    legend = [{"status": short_name(value(r, "status")), "label": value(r, "label"),
               "definition": value(r, "definition")} for r in rows]
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    return sorted(legend, key=lambda item: order.get(item["status"], len(order)))


@bp.get("/coverage")
def coverage():
    store = get_store()
    codes, payers, grid = coverage_matrix(store)
    return render_template("pages/coverage.html", codes=codes, payers=payers, grid=grid,
                           legend=status_legend(store))


# ---------------------------------------------------------------- validation

SEVERITY_ORDER = ("violation", "warning", "info")


def severity_name(severity: str) -> str:
    """"Violation" from sh:Violation (an IRI, a CURIE or a word)."""
    return short_name(str(severity)).split(":")[-1].lower()


def notation_of(iri: str | None) -> str | None:
    parts = split_id(iri or "")
    if parts and parts[0] in CODE_PAGE_SCHEMES + ("modifier", "pos") and "/" not in parts[1]:
        return parts[1]
    return None


def group_results(results) -> list[dict]:
    """The report's results grouped by the code they are about, most severe first."""
    groups: dict = {}
    for result in results:
        severity = severity_name(result.get("severity", "violation"))
        code = result.get("code")
        code_iri = code if code and code.startswith(ID) else None
        name = notation_of(code_iri) if code_iri else code
        name = name or notation_of(result.get("focus"))
        if code_iri:
            href = local_href(code_iri)
        elif name and notation_of(result.get("focus")) == name:
            href = local_href(result["focus"])
        else:
            href = url_for("pages.code", notation=name) if name else None
        group = groups.setdefault(name, {"code": name, "iri": code_iri, "href": href, "results": []})
        others = [c for c in result.get("codes") or [] if c != name]
        group["results"].append(dict(result, severity=severity, other_codes=others))
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    for group in groups.values():
        group["results"].sort(key=lambda r: (rank.get(r["severity"], 9), r.get("message") or ""))
        group["worst"] = group["results"][0]["severity"]
    return sorted(groups.values(), key=lambda g: (g["code"] is None, rank.get(g["worst"], 9), g["code"] or ""))


@bp.get("/validate")
def validate():
    from ...validate.engine import report_for  # noqa: PLC0415 (written alongside; imported when asked)

    report = report_for(current_app.config)
    results = list(report.results)
    counts = {s: 0 for s in SEVERITY_ORDER}
    for result in results:
        name = severity_name(result.get("severity", "violation"))
        counts[name] = counts.get(name, 0) + 1
    return render_template("pages/validate.html", report=report, groups=group_results(results),
                           counts=counts, total=len(results))


# ---------------------------------------------------------------- code page


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


def icd_notes(icd: str) -> list[dict]:
    """For a diagnosis code: the ICD-10-CM notes that apply to it, grouped by kind (server/icd_notes_page.py)."""
    from ...icd_notes_page import group_notes  # noqa: PLC0415
    from ..extensions import get_catalogue  # noqa: PLC0415

    return group_notes(get_catalogue().run(get_store(), "icd_notes", {"icd": icd}).rows)


def record_diagram(record: dict):
    from ..diagram import code_diagram  # noqa: PLC0415

    return code_diagram(record, local_href)


@bp.get("/codes/<notation>")
def code(notation):
    record = code_record(notation)
    gap_properties = {short_name(p) for gap in record.get("dataGaps", []) for p in gap.get("missingProperties", [])
                      if any(record["iri"] == about for about in gap.get("about", [])) or not gap.get("about")}
    return render_template("pages/code.html", record=record, diagram_svg=record_diagram(record).svg(),
                           gap_properties=gap_properties)


@bp.get("/codes/<notation>.svg")
def code_svg(notation):
    svg = record_diagram(code_record(notation)).svg()
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + svg, mimetype="image/svg+xml")


# ---------------------------------------------------------------- questions


def cell(term: dict | None) -> dict | None:
    """How one answer cell reads: text, and a link where the term has a page."""
    if term is None:
        return None
    text = term["value"]
    if term["type"] == "uri":
        href = local_href(text)
        parts = split_id(text)
        if parts:
            # A controlled value (id/vocab/<list>/<value>) reads as its value.
            text = short_name(text).replace("-", " ") if parts[0] == "vocab" else (parts[1] or parts[0])
        return {"text": text, "href": href, "external": not parts and bool(href), "iri": term["value"]}
    if term.get("datatype", "").endswith("#anyURI") and text.startswith(("http://", "https://")):
        return {"text": text, "href": text, "external": True}
    days = re.fullmatch(r"P(\d+)D", text) if term.get("datatype", "").endswith("Duration") or \
        term.get("datatype", "").endswith("#duration") else None
    if days:  # "P1205D" is how SPARQL writes 1205 days
        return {"text": f"{int(days.group(1))} days", "href": None}
    return {"text": text, "href": None}


# Columns that only say more about an IRI column (its notation, label, address, ...): on
# the page they are folded into that column's cell, so a row reads "77001 Fluoroscopic
# guidance" instead of three narrow columns. CSV and JSON keep every column.
COMPANIONS = ("Notation", "Label", "Title", "Name", "Url", "Slug", "ApproachLabel")


def companion_columns(column: str, columns) -> list[str]:
    prefixes = {column, column[:-len("Code")] if column.endswith("Code") else column}
    found = [p + suffix for p in prefixes for suffix in COMPANIONS if p + suffix in columns]
    if column == "code":
        found += [c for c in ("notation", "label") if c in columns]
    return [c for c in columns if c in found]


def folded_columns(columns, rows) -> list[dict]:
    """The columns a person sees: each IRI column with the columns that describe it."""
    iri_columns = {c for c in columns if any((row.get(c) or {}).get("type") == "uri" for row in rows)}
    companions = {c: [o for o in companion_columns(c, columns) if o not in iri_columns] for c in iri_columns}
    folded = {o for others in companions.values() for o in others}
    shown = [{"name": c, "companions": companions.get(c, [])} for c in columns if c not in folded]
    # A column with nothing in any row only widens the table.
    return [c for c in shown if any(row.get(name) for row in rows for name in [c["name"], *c["companions"]])]


def folded_cell(row: dict, column: dict) -> dict | None:
    """One cell of the page's table: the term of the column, told by its companions."""
    base = cell(row.get(column["name"]))
    if not column["companions"]:
        return base
    values = {c: row[c]["value"] for c in column["companions"] if row.get(c)}
    url = next((v for c, v in values.items() if c.endswith("Url")), None)
    notation = next((v for c, v in values.items() if c.endswith("Notation") or c == "notation"), None)
    words = [v for c, v in values.items() if c.endswith(("Label", "Title", "Name")) or c == "label"]
    if base is None:
        if not values:
            return None
        base = {"text": None, "href": None}
    if url and url.startswith(("http://", "https://")):
        base = dict(base, href=url, external=True)
    if notation:
        return dict(base, text=notation, notation=True, rest=" ".join(words))
    if words:
        return dict(base, text=words[0], rest=" ".join(words[1:]))
    return base if base.get("text") else dict(base, text=url or "")


# Rows of a question's page; the Next and Previous links walk the rest.
HTML_PAGE = 100


@bp.get("/questions/<question_id>")
def question(question_id):
    from ...questions import RESERVED_PARAMS  # noqa: PLC0415
    from ..extensions import get_catalogue  # noqa: PLC0415
    from ..paging import paging  # noqa: PLC0415

    catalogue = get_catalogue()
    q = catalogue.get(question_id)  # NotFound -> the 404 page
    values = {p.name: request.args.get(p.name, "") for p in q.params}
    missing = [p.name for p in q.params if p.required and not p.default and not values[p.name].strip()]
    answer, error, status = None, None, 200
    asked = bool(request.args) or not missing
    pages = {}
    if asked:
        try:
            store = get_store()
            offset, limit = paging(request.args, HTML_PAGE, store.settings["RESULT_CAP"])
            params = {k: v for k, v in request.args.items() if k not in RESERVED_PARAMS}
            answer = catalogue.page(store, question_id, params, offset, limit)
            pages = {"first": offset + 1, "last": offset + len(answer.rows),
                     "next": _page_url(offset + limit, limit) if answer.more else None,
                     "previous": _page_url(max(offset - limit, 0), limit) if offset else None}
        except CoderefError as err:
            error, status = err.message, err.status
    payers = []
    if any(p.type == "payer" for p in q.params):
        payers = payer_names(get_store())
    # The CSV and JSON links give the whole answer, not the page shown.
    query_string = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")])
    columns = folded_columns(answer.columns, answer.rows) if answer else []
    rows = [[folded_cell(row, c) for c in columns] for row in answer.rows] if answer else []
    return render_template(
        "pages/question.html", q=q, values=values, answer=answer, columns=columns, rows=rows, error=error,
        asked=asked, missing=missing, status=status, payers=payers, query_string=query_string, pages=pages,
        share_url=request.url if asked and not error else None,
    ), status


def _page_url(offset: int, limit: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")]
    return f"{request.path}?{urlencode([*args, ('offset', offset), ('limit', limit)])}"


@bp.app_template_filter()
def column_title(name: str) -> str:
    """"codeLabel" and "code_label" read as "code label"."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower()
