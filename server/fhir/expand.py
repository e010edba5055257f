"""ValueSet/$expand: a value set's entries, with a text filter, paging (count, offset) and the parameters used."""

import uuid
from datetime import datetime, timezone

from .compose import standards_status, evaluate
from .registry import canonical
from .outcome import FhirError

# Request parameters an expansion repeats in expansion.parameter, with their FHIR types.
ECHOED = {"activeOnly": "valueBoolean", "count": "valueInteger", "displayLanguage": "valueCode",
          "excludeNested": "valueBoolean", "filter": "valueString", "includeDefinition": "valueBoolean",
          "includeDesignations": "valueBoolean", "offset": "valueInteger"}
# What an expanded value set keeps of its definition (its compose is not repeated).
KEPT = ("resourceType", "id", "language", "url", "identifier", "version", "name", "title", "status", "experimental",
        "date", "publisher")
MAX_COUNT = 1000
# excludeNested -> the selections whose codes nest under their broader codes (as tx.fhir.org answers):
# asked not to exclude, a hierarchy chosen whole or by filter; not asked, one chosen by an is-a filter.
NESTING = {True: (), False: ("all", "is-a", "filter"), None: ("is-a",)}  # the most codes one expansion lists; `offset` pages on


def matches_text(concept, text: str) -> bool:
    """The $expand `filter`: every word starts a word of the display, or the code starts with it."""
    text = text.strip().lower()
    if not text:
        return True
    if concept.code.lower().startswith(text):
        return True
    words = [w for w in _words(concept.display or "")]
    return all(any(w.startswith(t) for w in words) for t in _words(text))


def _words(text: str) -> list[str]:
    out, word = [], []
    for ch in text.lower():
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def contains_item(entry, designations: bool = False, definition: bool = False) -> dict:
    c = entry.concept
    item = {"extension": list(entry.marks)} if entry.marks else {}
    item["system"] = entry.system
    if c.abstract:
        item["abstract"] = True
    if c.inactive:
        item["inactive"] = True
    item["code"] = c.code
    if c.display:
        item["display"] = c.display
    if designations and c.designations:
        item["designation"] = c.designations
    return item  # R4 has no contains.property (R5 does): a concept's status shows as `inactive`


def _contains(entries: list, designations: bool, nesting: tuple) -> list:
    """The contains list, a code chosen in one of the `nesting` ways under its broader code when that is there too."""
    items = {e.key: contains_item(e, designations) for e in entries}
    top = []
    for e in entries:
        parent = next(((e.system, p) for p in e.concept.parents if (e.system, p) in items), None) \
            if e.selection in nesting else None
        (items[parent].setdefault("contains", []) if parent else top).append(items[e.key])
    return top


def expand(registry, valueset: dict, params: dict) -> dict:
    """The ValueSet with its expansion. `params` holds the request's parameters by name."""
    count, offset = params.get("count"), params.get("offset") or 0
    if count is not None and count < 0 or offset < 0:
        raise FhirError("parameters 'count' and 'offset' must be 0 or more", 400, "invalid")
    evaluation = evaluate(registry, valueset, active_only=bool(params.get("activeOnly")))
    if evaluation.missing:
        system = evaluation.missing[0]
        raise FhirError(f"A definition for CodeSystem '{system}' could not be found, so the value set cannot be expanded",
                        422, "not-found", "not-found")
    entries = list(evaluation.entries.values())
    if params.get("filter"):
        entries = [e for e in entries if matches_text(e.concept, params["filter"])]
    total = len(entries)
    if count is None and total > MAX_COUNT:
        raise FhirError(f"The value set {canonical(valueset)} has {total} codes, more than the {MAX_COUNT} one expansion "
                        "lists: ask for pages with 'count' and 'offset', or narrow it with 'filter'", 422, "too-costly")
    limit = MAX_COUNT if count is None else min(count, MAX_COUNT)
    page = entries[offset:offset + limit]
    expansion = {"identifier": f"urn:uuid:{uuid.uuid4()}",
                 "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                 "total": total, "parameter": []}
    if params.get("offset") is not None:
        expansion["offset"] = offset
    for name, key in ECHOED.items():
        if params.get(name) is not None:
            expansion["parameter"].append({"name": name, key: params[name]})
    expansion["parameter"] += [{"name": "used-codesystem", "valueUri": u} for u in evaluation.systems]
    expansion["parameter"] += [{"name": "used-valueset", "valueUri": u} for u in evaluation.valuesets]
    expansion["parameter"] += [{"name": f"warning-{w}", "valueUri": u} for w, u in evaluation.warnings]
    status = standards_status(valueset)
    if status in ("withdrawn", "deprecated"):
        expansion["parameter"].append({"name": f"warning-{status}", "valueUri": canonical(valueset)})
    if page:
        nesting = () if count is not None or offset else NESTING[params.get("excludeNested")]
        expansion["contains"] = _contains(page, bool(params.get("includeDesignations")), nesting)
    out = {k: valueset[k] for k in KEPT if k in valueset}
    out.setdefault("status", "unknown")  # required in FHIR; a tx-resource may leave it out
    out["expansion"] = expansion
    return out
