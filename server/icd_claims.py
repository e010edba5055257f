"""Claim edits from the ICD-10-CM notes: Excludes1 and Excludes2 pairs, code first, use additional code, 7th characters.

The notes come from the official code set (server/icd_notes.py), as the claim check's other
verdicts on a diagnosis do, so every diagnosis of the set is checked whether or not the
ICD-10-CM module is loaded. Each finding names the notes it rests on (their IRIs, as
`coderef build-icd10cm` writes them) and the diagnoses, whose source is the code set.

The severities are the data's (data/claim-rules.ttl, set by claims.py): a finding here says
only whether it takes its rule's reduced severity (`reduced`).
- Two diagnoses in an Excludes1 relation (icd-excludes1); reduced when the claim says the two
  conditions are unrelated (`unrelated_conditions`), the exception the conventions allow.
- Excludes2 (icd-excludes2): both may be coded when the patient has both.
- "Code first" with no code it names listed before, "use additional code" with no code it
  names on the claim (icd-code-first, icd-use-additional-code); reduced when the note says
  "if applicable" (the code is needed only when the condition is there, which a claim cannot show).
- A code that takes a 7th character (a note on it or above it defines them) reported
  without one (icd-seventh-character).
"""

import json

from .errors import BadRequest
from .icd10cm import ID, is_code
from .icd_notes import KIND_LABELS, applying, covers

RULES = {  # rule id of the claim check -> note kind
    "icd-excludes1": "excludes1",
    "icd-excludes2": "excludes2",
    "icd-code-first": "code-first",
    "icd-use-additional-code": "use-additional-code",
    "icd-seventh-character": "seventh-character",
}
FIELD = "unrelated_conditions"
CONDITIONAL = ("if applicable", "if known", "if present")


def parse_unrelated(value, diagnoses: list[str]) -> list[frozenset]:
    """The pairs of the claim's diagnoses its coder says are unrelated conditions, from
    `unrelated_conditions`: a list of two-code lists; BadRequest naming the bad item."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{FIELD}: expected a list of pairs of diagnoses such as [[\"E10.9\", \"R73.9\"]], not {json.dumps(value)[:60]}")
    pairs = []
    for i, pair in enumerate(value):
        where = f"{FIELD}[{i}]"
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(c, str) for c in pair):
            raise BadRequest(f"{where}: expected two diagnosis codes, not {json.dumps(pair)[:60]}")
        codes = [c.strip().upper() for c in pair]
        dotted = []
        for j, code in enumerate(codes):
            match = next((d for d in diagnoses if d.replace(".", "") == code.replace(".", "")), None)
            if match is None:
                raise BadRequest(f"{where}[{j}]: {code!r} is not one of the claim's diagnoses")
            dotted.append(match)
        if dotted[0] == dotted[1]:
            raise BadRequest(f"{where}: a pair is two different diagnoses, not {dotted[0]} twice")
        pairs.append(frozenset(dotted))
    return pairs


def _where(note) -> str:
    holder = note.holder
    name = f"chapter {holder.name}" if holder.level == "chapter" else holder.name
    return f"the {KIND_LABELS[note.kind]} note on {name}"


def _names(targets) -> str:
    return ", ".join(t.removeprefix(ID).removeprefix("range/").replace("chapter/", "chapter ") for t in targets)


def _finding(rule: str, message: str, notes, codes, reduced: bool = False) -> dict:
    """A finding without its severity: claims.py gives it the rule's, or its reduced one."""
    facts = list(dict.fromkeys([n.iri for n in notes] + [ID + c for c in codes]))
    return {"rule": rule, "reduced": reduced, "line": None, "message": message, "facts": facts}


def _excludes(diagnoses, unrelated) -> list[dict]:
    found = {}  # (kind, pair) -> (first code, notes)
    for code in diagnoses:
        for note, _ in applying(code):
            if note.kind not in ("excludes1", "excludes2"):
                continue
            for other in diagnoses:
                if other != code and any(covers(t, other) for t in note.targets):
                    key = (note.kind, frozenset((code, other)))
                    first, notes = found.setdefault(key, (code, []))
                    if note not in notes:
                        notes.append(note)
    out = []
    for (kind, pair), (code, notes) in found.items():
        other = next(iter(pair - {code}))
        words = "; ".join(f"{_where(n)}: “{n.text}”" for n in notes)
        if kind == "excludes2":
            out.append(_finding("icd-excludes2", f"{code} and {other}: {words}. Excludes2: {other} is not "
                                "part of the condition of " + code + "; both may be reported when the patient has both.",
                                notes, [code, other]))
        elif pair in unrelated:
            out.append(_finding("icd-excludes1", f"{code} and {other}: {words}. Excludes1: the two are not "
                                "coded together, but the claim says the conditions are unrelated (the exception the "
                                "conventions allow): keep the documentation that shows it.", notes, [code, other],
                                reduced=True))
        else:
            out.append(_finding("icd-excludes1", f"{code} and {other}: {words}. Excludes1: the two are not "
                                f"coded together; remove one, or if the conditions are unrelated say so in {FIELD}.",
                                notes, [code, other]))
    return out


def _conditional(note) -> bool:
    return any(words in note.text.lower() for words in CONDITIONAL)


def _sequencing(diagnoses) -> list[dict]:
    out = []
    for position, code in enumerate(diagnoses):
        for note, _ in applying(code):
            if note.kind not in ("code-first", "use-additional-code") or not note.targets:
                continue  # a note naming no code ("code first underlying disease") cannot be checked
            present = [d for d in diagnoses if d != code and any(covers(t, d) for t in note.targets)]
            rule = "icd-" + note.kind
            conditional = _conditional(note)
            needed = " (needed only if applicable)" if conditional else ""
            said = f"{code}: {_where(note)}: “{note.text}”."
            if note.kind == "code-first":
                if any(diagnoses.index(d) < position for d in present):
                    continue
                if present:
                    out.append(_finding(rule, f"{said} {', '.join(present)} is on the claim but after {code}: "
                                        "list it first.", [note], [code, *present]))
                else:
                    out.append(_finding(rule, f"{said} None of {_names(note.targets)} is on the claim, before "
                                        f"{code}{needed}.", [note], [code], reduced=conditional))
            elif not present:
                out.append(_finding(rule, f"{said} None of {_names(note.targets)} is on the claim{needed}.",
                                    [note], [code], reduced=conditional))
    return out


def _seventh(diagnoses) -> list[dict]:
    out = []
    for code in diagnoses:
        if len(code.replace(".", "")) >= 7:
            continue
        for note, _ in applying(code):
            if note.kind == "seventh-character" and note.characters:
                characters = ", ".join(f"{c} ({m})" for c, m in list(note.characters.items())[:3])
                more = len(note.characters) - 3
                out.append(_finding("icd-seventh-character",
                                    f"{code} takes a 7th character and has none: {_where(note)}: “{note.text}”. "
                                    f"Its characters: {characters}{f' and {more} more' if more > 0 else ''}; "
                                    "pad a short code with X (placeholder) to six characters first.", [note], [code]))
    return out


def note_findings(claim) -> list[dict]:
    """The findings of the ICD-10-CM notes on a claim's diagnoses (those of the code set)."""
    diagnoses = [d for d in claim.diagnoses if is_code(d)]
    unrelated = getattr(claim, "unrelated_conditions", None) or []
    return _excludes(diagnoses, unrelated) + _sequencing(diagnoses) + _seventh(diagnoses)

