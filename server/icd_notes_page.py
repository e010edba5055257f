"""The ICD-10-CM notes of one code as its page shows them: grouped by kind, each target a link.

Built from the rows of the `icd_notes` question (one row per note and target), so the page
and /api/questions/icd_notes never disagree.
"""

from .icd_notes import KINDS


def _value(row: dict, key: str):
    term = row.get(key)
    return term["value"] if isinstance(term, dict) else term


def group_notes(rows) -> list[dict]:
    """[{kind, label, notes: [{iri, text, holder, inherited, targets, unresolved, characters}]}],
    in the order of KINDS; rows are the question's rows (terms as {value: ...} or plain values)."""
    notes: dict = {}
    for row in rows:
        iri = _value(row, "note")
        note = notes.setdefault(iri, {
            "iri": iri, "kind": (_value(row, "kind") or "").rsplit("/", 1)[-1], "text": _value(row, "text"),
            "holder": {"iri": _value(row, "holder"), "notation": _value(row, "holderNotation"),
                       "label": _value(row, "holderLabel")},
            "inherited": _value(row, "inherited") in ("true", "1", True),
            "targets": [], "unresolved": [], "characters": []})
        target = {"iri": _value(row, "target"), "notation": _value(row, "targetNotation"), "label": _value(row, "targetLabel")}
        if target["iri"] and target not in note["targets"]:
            note["targets"].append(target)
        if _value(row, "unresolved") and _value(row, "unresolved") not in note["unresolved"]:
            note["unresolved"].append(_value(row, "unresolved"))
        character = {"character": _value(row, "character"), "meaning": _value(row, "characterMeaning")}
        if character["character"] and character not in note["characters"]:
            note["characters"].append(character)
    groups = []
    for slug, label, _, _ in KINDS:
        of_kind = [n for n in notes.values() if n["kind"] == slug]
        if of_kind:
            groups.append({"kind": slug, "label": label, "notes": of_kind})
    return groups
