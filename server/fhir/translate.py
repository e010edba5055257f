"""ConceptMap/$translate: the targets a concept maps to (or, reversed, the sources that map to it).

Maps written in R5 (`relationship`) and in R4 (`equivalence`) are read alike; the answer
is R4's `equivalence`, with the map it came from as `originMap` (as tx.fhir.org answers R4
clients) and, when the map's target carries one, the statement's source and confidence in `comment`.
"""

from .registry import canonical

# R5 ConceptMap relationship -> R4 equivalence
EQUIVALENCE = {"related-to": "relatedto", "equivalent": "equivalent", "source-is-narrower-than-target": "wider",
               "source-is-broader-than-target": "narrower", "not-related-to": "unmatched"}


def _equivalence(target: dict) -> str:
    if target.get("equivalence"):
        return target["equivalence"]
    return EQUIVALENCE.get(target.get("relationship"), "relatedto")


def translate(maps: list, source_system: str | None, code: str | None, target_system: str | None = None,
              reverse: bool = False, url: str | None = None) -> dict:
    """The $translate Parameters over the maps given (tx-resources, or the graph's)."""
    matches = []
    for cm in maps:
        if url and url not in (cm.get("url"), canonical(cm)):
            continue
        for group in cm.get("group", []):
            src, tgt = group.get("source"), group.get("target")
            if reverse:
                src, tgt = tgt, src
            if source_system and src != source_system or target_system and tgt != target_system:
                continue
            for element in group.get("element", []):
                for target in element.get("target", []):
                    source = None
                    if reverse:  # as R5 answers: the concept asked about, and the source that maps to it
                        if target.get("code") != code:
                            continue
                        concept = {"system": src, "code": code}
                        source = {"system": tgt, "code": element.get("code")}
                        if element.get("display"):
                            source["display"] = element["display"]
                    else:
                        if element.get("code") != code:
                            continue
                        concept = {"system": tgt, "code": target.get("code")}
                        if target.get("display"):
                            concept["display"] = target["display"]
                    parts = [{"name": "equivalence", "valueCode": _equivalence(target)},
                             {"name": "concept", "valueCoding": concept},
                             {"name": "originMap", "valueCanonical": canonical(cm)}]
                    if source:
                        parts.append({"name": "source", "valueCoding": source})
                    if target.get("comment"):
                        parts.append({"name": "comment", "valueString": target["comment"]})
                    matches.append({"name": "match", "part": parts})
    params = [{"name": "result", "valueBoolean": bool(matches)}]
    if not matches:
        params.append({"name": "message", "valueString": f"no mapping found for code '{code}' of {source_system or 'any system'}"})
    return {"resourceType": "Parameters", "parameter": params + matches}
