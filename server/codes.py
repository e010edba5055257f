"""Codes: everything about one code (finding codes by notation or words is search.py's).

`describe_code` is built from the questions (the same queries a person can run), so the
code page, /api/codes/<notation> and /api/questions never disagree. The questions return
one row per (fact, source); here the rows of one fact become one entry with a list of
sources. Values are plain strings (IRIs as strings); vocabulary values are {iri, label};
`confidence` is the last segment of its IRI (confirmed, secondary, inferred, ...).
"""

from . import config as cfg
from .namespaces import CR, ID, SKOS
from .questions import Catalogue, load_catalogue, resolve_code
from .rdf.terms import IRI

from .search import search_codes

__all__ = ["describe_code", "search_codes"]



_LOADED: dict = {}  # queries folder -> Catalogue, for callers outside a Flask app


def _catalogue(store, catalogue: Catalogue | None) -> Catalogue:
    if catalogue is not None:
        return catalogue
    try:
        from flask import current_app

        return current_app.extensions["coderef.questions"]
    except (RuntimeError, KeyError):  # outside a request: read the store's queries folder
        folder = str(cfg.folder(getattr(store, "settings", None) or cfg.resolve(), "QUERIES_DIR"))
        if folder not in _LOADED:
            _LOADED[folder] = load_catalogue(folder)
        return _LOADED[folder]


def _slug(iri):
    return iri.rstrip("/").rsplit("/", 1)[-1] if iri else None


def _concept(iri, label=None):
    return {"iri": iri, "label": label or _slug(iri)} if iri else None


def _source(r, prefix="source"):
    iri = r.get(prefix)
    if not iri:
        return None
    return {"iri": iri, "title": r.get(prefix + "Title"), "url": r.get(prefix + "Url")}


def _add(items: list, item):
    if item is not None and item not in items:
        items.append(item)


def _group(records, key, build, collect=None):
    """One entry per distinct `key(record)`, in first-seen order: `build(first record)`,
    then `collect(entry, record)` for every record (sources by default)."""
    entries, order = {}, []
    for r in records:
        k = key(r)
        if k not in entries:
            entries[k] = build(r)
            entries[k].setdefault("sources", [])
            order.append(k)
        entry = entries[k]
        _add(entry["sources"], _source(r))
        if collect:
            collect(entry, r)
    return [entries[k] for k in order]


# ------------------------------------------------------------------ describe


# Questions about what a procedure includes, needs and costs: a diagnosis, a modifier or a
# place of service is never their subject, so their pages skip them (a test holds the data to it).
PROCEDURE_SCHEMES = ("cpt", "hcpcs")
PROCEDURE_QUESTIONS = ("bundled_services", "codes_bundling", "modifiers", "indications", "sites_of_service",
                       "payer_coverage", "billing_guidance", "benchmarks", "clinical_scenario")


def describe_code(store, notation: str, catalogue: Catalogue | None = None) -> dict:
    """Everything the reference says about one code; BadRequest/NotFound as for `code` params."""
    catalogue = _catalogue(store, catalogue)
    code = resolve_code(store, notation, "notation")

    scheme = code.value.removeprefix(ID).split("/", 1)[0]

    def ask(qid):
        if qid not in catalogue or (scheme not in PROCEDURE_SCHEMES and qid in PROCEDURE_QUESTIONS):
            return []
        question = catalogue.get(qid)
        name = question.params[0].name if question.params else None
        return catalogue.answer(store, qid, {name: code} if name else {}).records()

    summary = ask("code_summary")
    first = summary[0] if summary else {}
    extra = _code_extras(store, code)
    out = {
        "notation": first.get("notation"),
        "iri": code.value,
        "scheme": code.value.removeprefix(ID).split("/", 1)[0],
        "label": first.get("label"),
        "altLabels": extra["altLabels"],
        "description": first.get("description"),
        "shortDescriptor": first.get("shortDescriptor"),
        "clinicalPurpose": extra["clinicalPurpose"],
        "significance": extra["significance"],
        "serviceType": first.get("serviceType"),
        "codeSystem": _concept(first.get("codeSystem"), first.get("codeSystemLabel")),
        "status": _concept(first.get("status"), first.get("statusLabel")),
        "effectiveDate": first.get("effectiveDate"),
        "sunsetDate": first.get("sunsetDate"),
        "deletedDate": first.get("deletedDate"),
        "replacedBy": {"iri": first["replacedBy"], "notation": first.get("replacedByNotation")} if first.get("replacedBy") else None,
        "approach": _concept(first.get("approach"), first.get("approachLabel")),
        "anatomicalTarget": _concept(first.get("anatomicalTarget"), first.get("anatomicalTargetLabel")),
        "cellSources": extra["cellSources"],
        "confidence": _slug(first.get("confidence")),
        "sources": [],
    }
    for r in summary:
        _add(out["sources"], _source(r))

    out["bundledServices"] = _bundled(ask("bundled_services"))
    out["includedIn"] = _group(
        ask("codes_bundling"), lambda r: (r["including"], r["component"]),
        lambda r: {"code": {"iri": r["including"], "notation": r["includingNotation"], "label": r.get("includingLabel")},
                   "component": {"iri": r["component"], "label": r.get("componentLabel")},
                   "comment": r.get("comment"), "confidence": _slug(r.get("confidence"))})
    out["modifiers"] = _group(
        ask("modifiers"), lambda r: (r["modifier"], r.get("usage")),
        lambda r: {"modifier": {"iri": r["modifier"], "notation": r["modifierNotation"], "label": r.get("modifierLabel")},
                   "basis": r.get("basis"), "statement": r.get("usage"), "whenToUse": r.get("whenToUse"),
                   "documentationRequired": r.get("documentationRequired"),
                   "payer": {"iri": r["payer"], "name": r.get("payerName")} if r.get("payer") else None,
                   "confidence": _slug(r.get("confidence"))})
    out["indications"] = _group(
        ask("indications"), lambda r: r["indication"],
        lambda r: {"iri": r["indication"],
                   "diagnosis": {"iri": r["diagnosis"], "notation": r["diagnosisNotation"], "label": r.get("diagnosisLabel"),
                                 "billable": _bool(r.get("billable"))},
                   "role": _concept(r.get("role"), r.get("roleLabel")),
                   "clinicalContext": _concept(r.get("clinicalContext"), r.get("clinicalContextLabel")),
                   "criteria": r.get("criteria"), "comment": r.get("comment"), "confidence": _slug(r.get("confidence"))})
    out["sitesOfService"] = _group(
        ask("sites_of_service"), lambda r: r["site"],
        lambda r: {"iri": r["site"],
                   "placeOfService": {"iri": r["placeOfService"], "notation": r.get("placeOfServiceNotation"),
                                      "label": r.get("placeOfServiceLabel")} if r.get("placeOfService") else None,
                   "setting": _concept(r.get("setting"), r.get("settingLabel")),
                   "role": _concept(r.get("role"), r.get("roleLabel")),
                   "payer": {"iri": r["payer"], "name": r.get("payerName")} if r.get("payer") else None,
                   "comment": r.get("comment"), "confidence": _slug(r.get("confidence"))})
    # What a modifier or a place of service applies to: the reverse of modifiers and sites_of_service.
    out["appliesTo"] = _group(
        ask("codes_using_modifier") if out["scheme"] == "modifier" else [], lambda r: (r["code"], r["usage"]),
        lambda r: {"code": _code(r), "basis": r.get("basis"), "whenToUse": r.get("whenToUse"),
                   "documentationRequired": r.get("documentationRequired"), "payer": _payer(r),
                   "confidence": _slug(r.get("confidence"))})
    out["performedHere"] = _group(
        ask("codes_at_place_of_service") if out["scheme"] == "pos" else [], lambda r: r["site"],
        lambda r: {"iri": r["site"], "code": _code(r), "setting": _concept(r.get("setting"), r.get("settingLabel")),
                   "role": _concept(r.get("role"), r.get("roleLabel")), "payer": _payer(r),
                   "comment": r.get("comment"), "confidence": _slug(r.get("confidence"))})
    out["relatedCodes"] = _group(
        ask("related_codes"), lambda r: r["relation"],
        lambda r: {"iri": r["relation"], "relationType": _concept(r.get("relationType"), r.get("relationTypeLabel")),
                   "code": {"iri": r["relatedCode"], "notation": r["relatedNotation"], "label": r.get("relatedLabel"),
                            "approach": r.get("relatedApproachLabel")},
                   "comment": r.get("comment"), "confidence": _slug(r.get("confidence"))})
    out["payerPositions"] = _group(
        ask("payer_coverage"), lambda r: r["position"],
        lambda r: {"iri": r["position"],
                   "payer": {"iri": r.get("payer"), "name": r.get("payerName"), "slug": r.get("payerSlug")},
                   "status": _concept(r.get("status"), r.get("statusLabel")),
                   "clinicalContext": _concept(r.get("clinicalContext"), r.get("clinicalContextLabel")),
                   "criteria": r.get("criteria"), "priorAuthorization": _bool(r.get("priorAuthorization")),
                   "policy": {"iri": r["policy"], "identifier": r.get("policyIdentifier"), "title": r.get("policyTitle"),
                              "lineOfBusiness": r.get("lineOfBusiness"), "lastReviewed": r.get("lastReviewed"),
                              "nextReview": r.get("nextReview")} if r.get("policy") else None,
                   "effectiveDate": r.get("effectiveDate"), "endDate": r.get("endDate"),
                   "confidence": _slug(r.get("confidence"))})
    out["billingGuidance"] = _guidance(ask("billing_guidance"))
    out["benchmarks"] = _group(
        ask("benchmarks"), lambda r: r["benchmark"],
        lambda r: {"iri": r["benchmark"], "paymentSystem": r.get("paymentSystem"), "setting": r.get("setting"),
                   "year": r.get("year"), "pricingStatus": _concept(r.get("pricingStatus"), r.get("pricingStatusLabel")),
                   "amount": r.get("amount"), "currency": r.get("currency"), "comment": r.get("comment"),
                   "confidence": _slug(r.get("confidence"))})
    out["scenarios"] = _scenarios(ask("clinical_scenario"))
    out["scenario"] = out["scenarios"][0] if out["scenarios"] else None
    out["dataGaps"] = _group(
        ask("data_gaps"), lambda r: r["gap"],
        lambda r: {"iri": r["gap"], "about": [], "missingProperties": [],
                   "gapKind": _concept(r.get("gapKind"), r.get("gapKindLabel")),
                   "comment": r.get("comment"), "confidence": _slug(r.get("confidence"))},
        lambda e, r: (_add(e["about"], r.get("about")), _add(e["missingProperties"], r.get("missingProperty"))))
    out["allSources"] = _all_sources(ask("sources"))
    if out["scheme"] == "icd10cm":
        out.update(_hierarchy(store, code))
    return out


_HIERARCHY = f"""
PREFIX skos: <{SKOS}>
PREFIX cr: <{CR}>
SELECT ?code ?relation ?other ?notation ?label ?billable WHERE {{
  # The labels inside the branches: after the UNION, the "self" row (no ?other) would take
  # every notation and label of the graph (98,344 rows, minutes, with the whole code set).
  {{ ?code skos:broader ?other . BIND("broader" AS ?relation)
     OPTIONAL {{ ?other skos:notation ?notation }} OPTIONAL {{ ?other skos:prefLabel ?label }} }}
  UNION {{ ?other skos:broader ?code . BIND("narrower" AS ?relation)
           OPTIONAL {{ ?other skos:notation ?notation }} OPTIONAL {{ ?other skos:prefLabel ?label }} }}
  UNION {{ ?code cr:billable ?billable . BIND("self" AS ?relation) }}
}}
"""


def _hierarchy(store, code: IRI) -> dict:
    """An ICD-10-CM code's billable flag, the codes above it and the codes right below it
    (as the graph holds them: the indication subset, or the whole code set when its module is loaded)."""
    out = {"billable": None, "broader": [], "narrower": []}
    for row in store.select(_HIERARCHY, bindings={"code": code}).rows:
        relation = row["relation"]["value"]
        if relation == "self":
            out["billable"] = _bool(row["billable"]["value"])
        elif row.get("other"):
            _add(out[relation], {"iri": row["other"]["value"], "notation": row.get("notation", {}).get("value"),
                                 "label": row.get("label", {}).get("value")})
    for key in ("broader", "narrower"):
        out[key].sort(key=lambda c: c["notation"] or "")
    return out


def _code(r):
    return {"iri": r["code"], "notation": r.get("notation"), "label": r.get("label")}


def _payer(r):
    return {"iri": r["payer"], "name": r.get("payerName")} if r.get("payer") else None


def _bool(value):
    return None if value is None else value in ("true", "1")


def _bundled(records):
    def collect(e, r):
        _add(e["componentTypes"], _concept(r.get("componentType"), r.get("componentTypeLabel")))
        if r.get("reportedAloneBy"):
            _add(e["reportedAloneBy"], {"iri": r["reportedAloneBy"], "notation": r.get("reportedAloneByNotation"),
                                        "label": r.get("reportedAloneByLabel")})
        if r.get("separatingModifier"):
            _add(e["separatingModifiers"], {"iri": r["separatingModifier"], "notation": r.get("separatingModifierNotation")})

    return _group(records, lambda r: r["component"],
                  lambda r: {"iri": r["component"], "label": r.get("componentLabel"), "componentTypes": [],
                             "reportedAloneBy": [], "separatingModifiers": [], "comment": r.get("comment"),
                             "confidence": _slug(r.get("confidence"))},
                  collect)


def _guidance(records):
    def collect(e, r):
        _add(e["requiresModifiers"], r.get("requiresModifierNotation"))
        _add(e["requiresDiagnoses"], r.get("requiresDiagnosisNotation"))
        if r.get("useInstead"):
            _add(e["useInstead"], {"iri": r["useInstead"], "notation": r.get("useInsteadNotation")})

    return _group(records, lambda r: r["guidance"],
                  lambda r: {"iri": r["guidance"], "guidanceType": _concept(r.get("guidanceType"), r.get("guidanceTypeLabel")),
                             "text": r.get("text"),
                             "payer": {"iri": r["payer"], "name": r.get("payerName")} if r.get("payer") else None,
                             "requiresModifiers": [], "requiresDiagnoses": [],
                             "requiresTrialNumber": _bool(r.get("requiresTrialNumber")),
                             "requiresConditionCode": r.get("requiresConditionCode"), "useInstead": [],
                             "effectiveDate": r.get("effectiveDate"), "confidence": _slug(r.get("confidence"))},
                  collect)


SCENARIO_LISTS = {"anesthesia": "anesthesia", "imaging": "imaging", "access": "access", "monitoring": "monitoring",
                  "complication": "complications", "recovery setting": "recoverySettings", "variant": "variants"}


def _scenarios(records):
    def collect(e, r):
        element, item = r.get("element"), r.get("item")
        if element == "step":
            step = {"iri": item, "order": int(r["order"]) if r.get("order") else None, "label": r.get("itemLabel"),
                    "description": r.get("itemDescription"), "performedBy": r.get("performedBy")}
            _add(e["steps"], step)
        elif element in SCENARIO_LISTS:
            _add(e[SCENARIO_LISTS[element]], {"iri": item, "label": r.get("itemLabel") or _slug(item),
                                              "description": r.get("itemDescription")})

    scenarios = _group(records, lambda r: r["scenario"],
                       lambda r: {"iri": r["scenario"], "label": r.get("scenarioLabel"),
                                  "patientProfile": r.get("patientProfile"), "steps": [],
                                  **{v: [] for v in SCENARIO_LISTS.values()},
                                  "confidence": _slug(r.get("confidence"))},
                       collect)
    for s in scenarios:
        s["steps"].sort(key=lambda step: (step["order"] is None, step["order"] or 0))
    return scenarios


def _all_sources(records):
    def collect(e, r):
        e["statements"] += 1

    sources = _group(records, lambda r: r["source"],
                     lambda r: {"iri": r["source"], "title": r.get("sourceTitle"), "url": r.get("sourceUrl"),
                                "publisher": r.get("publisher"), "date": r.get("sourceDate"),
                                "kind": _slug(r.get("sourceKind")), "statements": 0},
                     collect)
    for s in sources:
        s.pop("sources", None)
    return sources


_EXTRAS = f"""
PREFIX skos: <{SKOS}>
PREFIX cr: <{CR}>
SELECT ?p ?o ?label WHERE {{
  ?code ?p ?o .
  VALUES ?p {{ skos:altLabel cr:clinicalPurpose cr:significance cr:cellSource }}
  OPTIONAL {{ ?o skos:prefLabel ?label }}
}}
"""


def _code_extras(store, code: IRI) -> dict:
    """Multi-valued facts of the code itself that the summary question keeps out of its rows."""
    out = {"altLabels": [], "clinicalPurpose": None, "significance": None, "cellSources": []}
    for row in store.select(_EXTRAS, bindings={"code": code}).rows:
        p, o = row["p"]["value"], row["o"]["value"]
        if p == SKOS + "altLabel":
            _add(out["altLabels"], o)
        elif p == CR + "clinicalPurpose":
            out["clinicalPurpose"] = o
        elif p == CR + "significance":
            out["significance"] = o
        else:
            _add(out["cellSources"], _concept(o, row.get("label", {}).get("value")))
    out["altLabels"].sort()
    return out
