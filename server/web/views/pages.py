"""The pages for people: a code, a question, the coverage matrix, the validation report.

Everything from the data reaches the templates as text and is escaped by Jinja; the one
exception is the relationship diagram, SVG drawn by Graphviz from escaped labels
(see server/web/diagram.py).
"""

import re
import weakref
from collections import OrderedDict
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ...errors import BadRequest, CoderefError
from ..extensions import get_store
from ..links import CODE_PAGE_SCHEMES, coder_words, linked_paths, local_href, short_name, split_id, value
from ...namespaces import ID, sparql_prefixes
from ...payers import payer_names

bp = Blueprint("pages", __name__)

# Coverage statuses from the most to the least favourable, for the legend and ordering.
STATUS_ORDER = ("covered", "covered-with-criteria", "clinical-trial-only", "investigational",
                "not-covered", "no-published-policy", "position-not-retrieved")


# Links and names of things, shared with the code pages; template globals from here.
bp.add_app_template_global(local_href)
bp.add_app_template_global(short_name)
bp.add_app_template_filter(short_name)
bp.add_app_template_filter(linked_paths)


SOURCE_KINDS = sparql_prefixes() + """
SELECT ?source ?kind ?label ?short ?definition WHERE {
  ?source a cr:Source ; cr:sourceKind ?kind .
  OPTIONAL { ?kind skos:prefLabel ?label }
  OPTIONAL { ?kind skos:altLabel ?short }
  OPTIONAL { ?kind skos:definition ?definition }
}"""
_KINDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@bp.app_template_global()
def source_kind(iri: str | None) -> dict | None:
    """What kind of source `iri` is (primary, secondary, a copy on a third-party site, ...):
    {"kind", "label", "short", "definition"}, read once per store (a reload brings a new one)."""
    if not iri:
        return None
    store = get_store()
    kinds = _KINDS.get(store)
    if kinds is None:
        kinds = {}
        for row in store.select(SOURCE_KINDS).rows:
            label = value(row, "label") or short_name(row["kind"]["value"])
            kinds[row["source"]["value"]] = {"kind": short_name(row["kind"]["value"]), "label": label,
                                             "short": value(row, "short") or label,
                                             "definition": value(row, "definition")}
        _KINDS[store] = kinds
    return kinds.get(iri)


# ---------------------------------------------------------------- coverage

COVERAGE = sparql_prefixes() + """
SELECT ?code ?notation ?payer ?payerName ?parentName ?policy ?policyId ?policyTitle
       ?position ?status ?statusLabel ?context ?contextLabel ?criteria ?source ?sourceTitle ?sourceUrl
       ?effectiveDate ?endDate ?replacedOn
WHERE {
  ?position cr:appliesTo ?code ; cr:coverageStatus ?status .
  # A position may stand without a policy ("no policy found" is itself a position);
  # the policy's own facts are nested so that an unbound ?policy never matches any policy.
  OPTIONAL {
    ?policy a cr:CoveragePolicy ; cr:position ?position .
    OPTIONAL { ?policy cr:issuedBy ?issuer }
    OPTIONAL { ?policy cr:policyIdentifier ?policyId }
    OPTIONAL { ?policy dct:title ?policyTitle }
    OPTIONAL { ?policy dct:source ?policySource }
    OPTIONAL { ?policy cr:effectiveDate ?policyStart }
    OPTIONAL { ?policy cr:endDate ?policyEnd }
    OPTIONAL { ?policy dct:isReplacedBy ?successor . ?successor cr:effectiveDate ?replacedOn }
  }
  OPTIONAL { ?position cr:effectiveDate ?positionStart }
  OPTIONAL { ?position cr:endDate ?positionEnd }
  BIND(COALESCE(?positionStart, ?policyStart) AS ?effectiveDate)
  BIND(COALESCE(?positionEnd, ?policyEnd) AS ?endDate)
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


def _day_key(text: str | None, last: bool) -> str | None:
    """A date as text that compares by day: a month-only "2024-06" is its first day, or its last ("~") for an end."""
    if not text:
        return None
    return text + ("~" if last else "") if len(text) == 7 else text


def position_mark(effective: str | None, end: str | None, replaced: str | None, as_of: str) -> dict | None:
    """What a person must know about a position on `as_of`: ended, not yet in force, undated."""
    if end and _day_key(end, True) < as_of:
        return {"kind": "ended", "text": f"ended {end}"}
    if replaced and _day_key(replaced, False) <= as_of:
        return {"kind": "ended", "text": f"replaced from {replaced}"}
    if effective and _day_key(effective, False) > as_of:
        return {"kind": "future", "text": f"from {effective}"}
    if not effective:
        return {"kind": "undated", "text": "undated"}
    return None


def coverage_matrix(store, as_of: str | None = None):
    """Payers (rows) x codes (columns); each cell the list of positions, each with its
    status, clinical context, policy, dates and sources, and its mark on `as_of`
    (today when None): ended, not yet in force, undated."""
    from datetime import date  # noqa: PLC0415

    as_of = as_of or date.today().isoformat()
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
                "status": short_name(status), "status_iri": status,
                "status_label": value(row, "statusLabel") or short_name(status),
                "context": value(row, "context"),
                "context_label": value(row, "contextLabel") or (short_name(value(row, "context")) if row.get("context") else None),
                "criteria": value(row, "criteria"),
                "policy": value(row, "policy"),
                "policy_id": value(row, "policyId"),
                "policy_title": value(row, "policyTitle"),
                "effective": value(row, "effectiveDate"), "end": value(row, "endDate"),
                "mark": position_mark(value(row, "effectiveDate"), value(row, "endDate"), value(row, "replacedOn"), as_of),
                "sources": OrderedDict(),
            }
        source = value(row, "source")
        if source:
            positions[key]["sources"].setdefault(source, {
                "iri": source, "title": value(row, "sourceTitle") or short_name(source), "url": value(row, "sourceUrl")})

    def rank(position):
        status = position["status"]
        ended = bool(position["mark"]) and position["mark"]["kind"] == "ended"  # what no longer holds goes last
        return (ended, STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER),
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


def as_of_day() -> str:
    """The `as_of` of the request (YYYY-MM-DD, "today" or empty for today), checked."""
    from datetime import date  # noqa: PLC0415

    text = request.args.get("as_of", "").strip().lower()
    if text in ("", "today"):
        return date.today().isoformat()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise BadRequest(f"“As of” must be a date written YYYY-MM-DD, such as {date.today().isoformat()}; "
                         f"{request.args['as_of']!r} is not one") from None


@bp.get("/coverage")
def coverage():
    store = get_store()
    as_of = as_of_day()
    codes, payers, grid = coverage_matrix(store, as_of)
    marks = {}
    for positions in grid.values():
        for p in positions:
            if p["mark"]:
                marks[p["mark"]["kind"]] = marks.get(p["mark"]["kind"], 0) + 1
    return render_template("pages/coverage.html", codes=codes, payers=payers, grid=grid,
                           legend=status_legend(store), as_of=as_of, marks=marks,
                           csv_href=url_for("pages.coverage_csv", **({"as_of": request.args["as_of"]} if request.args.get("as_of") else {})))


COVERAGE_CSV = ("payer", "payerName", "parentName", "code", "notation", "status", "statusLabel", "context",
                "contextLabel", "policy", "policyIdentifier", "policyTitle", "effectiveDate", "endDate", "mark",
                "criteria", "source", "sourceTitle", "sourceUrl", "sources")


@bp.get("/coverage.csv")
def coverage_csv():
    """The matrix as a spreadsheet: one row per position, labels beside IRIs, its sources in one cell."""
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    from ...questions.model import SOURCE_SEPARATOR  # noqa: PLC0415

    as_of = as_of_day()
    codes, payers, grid = coverage_matrix(get_store(), as_of)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COVERAGE_CSV)
    for payer in payers:
        for code in codes:
            for p in grid.get((payer["iri"], code["iri"]), []):
                sources = p["sources"]
                writer.writerow([payer["iri"], payer["name"], payer["parent"] or "", code["iri"], code["notation"],
                                 p["status_iri"], p["status_label"], p["context"] or "",
                                 p["context_label"] or "", p["policy"] or "", p["policy_id"] or "", p["policy_title"] or "",
                                 p["effective"] or "", p["end"] or "", p["mark"]["text"] if p["mark"] else "",
                                 p["criteria"] or "",
                                 *(SOURCE_SEPARATOR.join(s[k] or "" for s in sources) for k in ("iri", "title", "url")),
                                 "; ".join(f"{s['title']} ({s['url']})" if s["url"] else s["title"] for s in sources)])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="coverage-{as_of}.csv"'
    return response


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


@bp.get("/codes/<notation>")
def code(notation):
    from .codes import code_page  # noqa: PLC0415 (every scheme's code page, redirects and choices)

    return code_page(notation)


@bp.get("/codes/<notation>.svg")
def code_svg(notation):
    from .codes import code_svg as svg  # noqa: PLC0415

    return svg(notation)


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


def sources_cell(cell_: dict | None, column: dict, row_sources: list[dict]) -> dict | None:
    """The `source` cell of a gathered row: every source of the fact, as the sources macro lists them."""
    if column["name"] != "source":
        return cell_
    return {"sources": [{"iri": s.get("source"), "title": s.get("sourceTitle"), "url": s.get("sourceUrl"),
                         "publisher": s.get("publisher"), "kind": short_name(s["sourceKind"]) if s.get("sourceKind") else None}
                        for s in row_sources]}


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
            answer = catalogue.page(store, question_id, params, offset, limit, gathered=True)
            pages = {"first": offset + 1, "last": offset + len(answer.rows),
                     "next": _page_url(offset + limit, limit) if answer.more else None,
                     "previous": _page_url(max(offset - limit, 0), limit) if offset else None}
        except CoderefError as err:
            error, status = coder_words(err.message), err.status
    payers = []
    if any(p.type == "payer" for p in q.params):
        payers = payer_names(get_store())
    # The CSV and JSON links give the whole answer, not the page shown.
    query_string = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")])
    columns = folded_columns(answer.columns, answer.rows) if answer else []
    rows = [[folded_cell(row, c) for c in columns] for row in answer.rows] if answer else []
    if answer and answer.sources is not None:
        columns = [dict(c, title="sources") if c["name"] == "source" else c for c in columns]
        rows = [[sources_cell(cell_, c, row_sources) for cell_, c in zip(row, columns)]
                for row, row_sources in zip(rows, answer.source_records())]
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
