"""CodeSystem/$lookup and $subsumes: one concept's details, and how two concepts relate in the hierarchy."""

from .outcome import FhirError, not_found
from .systems import value_key


def _property(code: str, key: str, value, description: str | None = None) -> dict:
    parts = [{"name": "code", "valueCode": code}, {"name": "value", key: value}]
    if description:
        parts.insert(1, {"name": "description", "valueString": description})
    return {"name": "property", "part": parts}


def lookup(cs, code: str, wanted: list[str] | None = None) -> dict:
    """The $lookup Parameters. `wanted` names the properties asked for ("*" or none: all)."""
    concept, _ = cs.locate(code)
    if concept is None:
        version = f" version '{cs.version}'" if cs.version else ""
        raise not_found(f"Unknown code '{code}' in the CodeSystem '{cs.url}'{version}")
    every = not wanted or "*" in wanted

    def asked(name):
        return every or name in wanted

    params = [{"name": "name", "valueString": cs.name}]
    if cs.version:
        params.append({"name": "version", "valueString": cs.version})
    params.append({"name": "system", "valueUri": cs.url})
    params.append({"name": "code", "valueCode": concept.code})
    if concept.display:
        params.append({"name": "display", "valueString": concept.display})
    if concept.definition:
        params.append({"name": "definition", "valueString": concept.definition})
    params.append({"name": "abstract", "valueBoolean": concept.abstract})
    for d in concept.designations:
        parts = []
        if d.get("language"):
            parts.append({"name": "language", "valueCode": d["language"]})
        if d.get("use"):
            parts.append({"name": "use", "valueCoding": d["use"]})
        parts.append({"name": "value", "valueString": d.get("value")})
        params.append({"name": "designation", "part": parts})
    if asked("parent"):
        params += [_property("parent", "valueCode", p, concept.labels.get(p)) for p in concept.parents]
    if asked("child"):
        params += [_property("child", "valueCode", c, concept.labels.get(c)) for c in concept.children]
    if asked("inactive"):
        params.append(_property("inactive", "valueBoolean", concept.inactive))
    for p in concept.properties:
        key = value_key(p)
        if key and p.get("code") not in ("parent", "child", "inactive") and asked(p.get("code")):
            params.append(_property(p["code"], key, p[key]))
    return {"resourceType": "Parameters", "parameter": params}


def subsumes(cs, code_a: str, code_b: str) -> dict:
    """equivalent, subsumes (a is an ancestor of b), subsumed-by, or not-subsumed."""
    a, _ = cs.locate(code_a)
    b, _ = cs.locate(code_b)
    for name, code, concept in (("codeA", code_a, a), ("codeB", code_b, b)):
        if concept is None:
            raise FhirError(f"parameter {name!r}: unknown code '{code}' in the CodeSystem '{cs.url}'", 404,
                            "not-found", "invalid-code", name)
    if a.code == b.code:
        outcome = "equivalent"
    elif b.code in cs.descendants(a.code):
        outcome = "subsumes"
    elif a.code in cs.descendants(b.code):
        outcome = "subsumed-by"
    else:
        outcome = "not-subsumed"
    return {"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]}
