"""Writing ICD-10-CM as Turtle: the concepts, then the notes on them and the ranges these name.

The whole set (data/modules/icd10cm.ttl) or some codes (the indication subset committed as
data/icd10cm-indications.ttl). For some codes, the file holds those codes and their
ancestors with every note on them or on their block and chapter, and, so that every link
leads somewhere, each code or range those notes name (as a concept or range, without its
own notes). Whatever the selection, a node is written with the same statements as in the
whole set, so the subset is the module restricted.
"""

from dataclasses import dataclass, field
from pathlib import Path

from . import icd_notes as notes
from .files import write_atomically
from .icd10cm import HEADER, ID, all_codes, concept, icd, is_code, with_ancestors

SOURCE = "<https://w3id.org/coderef/id/source/icd10cm-2026>"
CONFIRMED = "<https://w3id.org/coderef/id/vocab/confidence/confirmed>"
INFERRED = "<https://w3id.org/coderef/id/vocab/confidence/inferred>"
RDFS = "<http://www.w3.org/2000/01/rdf-schema#label>"


@dataclass
class Built:
    """What a build wrote: counts, and every target that names no code of the set."""

    concepts: int = 0
    notes: dict = field(default_factory=dict)  # kind -> count
    ranges: int = 0
    unresolved: list = field(default_factory=list)  # (note IRI, target text)


def text(value: str, lang: str = "@en") -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"{lang}'


def note_turtle(note: notes.Note) -> str:
    lines = [
        f"<{note.iri}> a cr:CodingNote ;",
        f"    cr:noteKind <{notes.KIND_IRI}{note.kind}> ;",
        f"    cr:noteOn <{note.holder.iri}> ;",
        f"    cr:noteText {text(note.text)} ;",
    ]
    lines += [f"    cr:noteTarget <{t}> ;" for t in note.targets]
    lines += [f"    cr:unresolvedTarget {text(u, '')} ;" for u in note.unresolved]
    lines += [f"    cr:seventhCharacter <{note.iri}/{c}> ;" for c in note.characters]
    lines.append(f"    cr:confidence {CONFIRMED} ; dct:source {SOURCE} .")
    for character, meaning in note.characters.items():
        lines.append(f"<{note.iri}/{character}> a cr:SeventhCharacter ; cr:character {text(character, '')} ;\n"
                     f"    cr:characterMeaning {text(meaning)} ; cr:confidence {CONFIRMED} ; dct:source {SOURCE} .")
    return "\n".join(lines)


def range_turtle(iri: str) -> str:
    """A block or chapter of the set (confirmed), or a range written in a note (inferred: its
    members are the codes the set lists from its first to its last)."""
    if notes.is_block_range(iri):
        holder = notes.range_holder(iri.rsplit("/", 1)[1])
        lines = [f"<{iri}> a cr:CodeRange ;",
                 f"    cr:rangeNotation {text(holder.name, '')} ;",
                 f"    skos:prefLabel {text(icd.get_description(holder.name, prioritize_blocks=True))} ;"]
        parent = notes.parent_of(holder)
        if parent is not None:
            lines.append(f"    cr:inRange <{parent.iri}> ;")
        lines.append(f"    cr:confidence {CONFIRMED} ; dct:source {SOURCE} .")
        return "\n".join(lines)
    first, last = notes.range_ends(iri)
    members = ", ".join(f"<{notes.code_iri(m)}>" for m in notes.range_members(first, last))
    return "\n".join([
        f"<{iri}> a cr:CodeRange ;",
        f"    cr:rangeNotation {text(f'{first}-{last}', '')} ; {RDFS} {text(f'{first}-{last}')} ;",
        f"    cr:rangeStart <{notes.code_iri(first)}> ; cr:rangeEnd <{notes.code_iri(last)}> ;",
        f"    cr:rangeMember {members} ;",
        f"    cr:confidence {INFERRED} ; dct:source {SOURCE} .",
    ])


def in_range(code: str) -> str | None:
    """`code cr:inRange block` for a category (a code whose parent is a block)."""
    parent = notes.parent_of(notes.code_holder(code))
    return None if parent is None or parent.level == "code" else f"<{notes.code_iri(code)}> cr:inRange <{parent.iri}> ."


def _targets_closure(noted_notes) -> tuple[set, set]:
    """(codes, range IRIs) the notes name, with the ends and members of each range."""
    codes, ranges = set(), set()
    for note in noted_notes:
        for target in note.targets:
            if not notes.is_range(target):
                codes.add(target.removeprefix(ID))
                continue
            ranges.add(target)
            if not notes.is_block_range(target):
                first, last = notes.range_ends(target)
                codes.update({first, last, *notes.range_members(first, last)})
    return codes, ranges


def select(codes=None):
    """(concepts, holders whose notes are written, ranges) of a build."""
    if not codes:
        holders = notes.holders()
        ranges = [h.iri for h in holders if h.level != "code"]
        written = [n for h in holders for n in notes.notes_of(h)]
        _, named = _targets_closure(written)
        return all_codes(), written, ranges + sorted(named - set(ranges))
    noted = with_ancestors(codes)
    holders = list(dict.fromkeys(h for code in noted for h in notes.chain(code)))
    written = [n for h in holders for n in notes.notes_of(h)]
    named_codes, named_ranges = _targets_closure(written)
    concepts = with_ancestors(set(noted) | named_codes)
    ranges = {h.iri for code in concepts for h in notes.chain(code) if h.level != "code"}
    for target in named_ranges:
        ranges.add(target)
        if notes.is_block_range(target):
            ranges.update(h.iri for h in _range_chain(target))
    return concepts, written, sorted(ranges)


def _range_chain(iri: str):
    holder = notes.range_holder(iri.rsplit("/", 1)[1])
    while holder is not None:
        yield holder
        holder = notes.parent_of(holder)


def build(out: Path, codes=None, progress=None, with_notes: bool = True) -> Built:
    """Write the given codes (with ancestors, and what their notes name), or the whole code
    set, as Turtle: concepts, then (with_notes) notes and ranges. Returns what was written."""
    if with_notes:
        concepts, written, ranges = select(codes)
    else:
        concepts, written, ranges = (with_ancestors(codes) if codes else all_codes()), [], []
    built = Built(concepts=len(concepts), ranges=len(ranges))
    total = len(concepts) + len(written) + len(ranges)

    def chunks():
        yield HEADER + "\n"
        n = 0
        for n, code in enumerate(concepts, 1):
            yield concept(code) + "\n\n"
            if progress and n % 5000 == 0:
                progress(n, total, code)
        for code in concepts if with_notes else ():
            if is_code(code) and (link := in_range(code)):
                yield link + "\n"
        yield "\n"
        for n, iri in enumerate(ranges, n + 1):
            yield range_turtle(iri) + "\n\n"
        for n, note in enumerate(written, n + 1):
            built.notes[note.kind] = built.notes.get(note.kind, 0) + 1
            built.unresolved += [(note.iri, u) for u in note.unresolved]
            yield note_turtle(note) + "\n\n"
            if progress and n % 5000 == 0:
                progress(n, total, note.iri.removeprefix(ID))
        if progress:
            progress(total, total, "written")

    write_atomically(out, chunks())
    return built
