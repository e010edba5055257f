"""ICD-10-CM instructional notes read from the official code set: their kind, words and resolved targets.

The code set that `simple-icd-10-cm` ships holds the notes of the tabular list as text, on
the chapter, block, category or code that carries them. Here each becomes a Note: its kind,
its words (whitespace as written, tabs of the source XML made spaces), the item it is on,
and the codes it names, each resolved to a concept of the set: "E10.9" and "E08.-" (a code
and every code below it) to that concept, "E08-E13" to a range: the block of that name when
there is one, the chapter whose extent it is, else a range of our own whose members are the codes the set lists from the
first to the last. A code-like word that names nothing of the set ("R10.4", vitamin "B12"
excepted) stays as unresolved text and is counted.

Nothing here is typed by hand: every note, title and code comes from the package.
"""

import functools
import re
from dataclasses import dataclass, field

from .icd10cm import ID, icd, is_code, normalise

# (slug, label, package reader, list-valued): the order notes are written in.
KINDS = (
    ("excludes1", "Excludes1", "get_excludes1", True),
    ("excludes2", "Excludes2", "get_excludes2", True),
    ("includes", "Includes", "get_includes", True),
    ("inclusion-term", "Inclusion term", "get_inclusion_term", True),
    ("code-first", "Code first", "get_code_first", False),
    ("use-additional-code", "Use additional code", "get_use_additional_code", False),
    ("code-also", "Code also", "get_code_also", False),
    ("note", "Note", "get_notes", False),
    ("seventh-character", "7th character", "get_seven_chr_note", False),
)
KIND_LABELS = {slug: label for slug, label, _, _ in KINDS}
KIND_IRI = ID.replace("/icd10cm/", "/vocab/icd-note-kind/")
# Inclusion terms name what a code itself is used for; every other note on a chapter, block
# or category applies to each code below it (a 7th character: the nearest definition).
NOT_INHERITED = ("inclusion-term",)

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
TARGET = re.compile(rf"(?<![A-Za-z0-9.])({_CODE})(?:\.?-)?(?:\s*-\s*({_CODE})(?:\.?-)?)?(?![A-Za-z0-9])")
NOT_A_CODE = re.compile(r"vitamin\s*$", re.IGNORECASE)  # "vitamin B12" names a vitamin


@dataclass(frozen=True)
class Holder:
    """An item of the set that notes are written on: a code, a block or a chapter."""

    name: str
    level: str  # code, block, chapter
    iri: str
    slug: str  # its part of a note's IRI

    @property
    def blocks_first(self) -> bool:
        """Read the package's block of this name, not its category (B99, C7A, ...)."""
        return self.level == "block"


@dataclass
class Note:
    iri: str
    kind: str
    text: str
    holder: Holder
    targets: list = field(default_factory=list)  # IRIs of concepts or ranges
    unresolved: list = field(default_factory=list)  # target texts that name nothing of the set
    characters: dict = field(default_factory=dict)  # 7th character -> its meaning


def code_iri(code: str) -> str:
    return ID + code


def range_iri(name: str) -> str:
    return f"{ID}range/{name}"


def code_holder(code: str) -> Holder:
    return Holder(code, "code", code_iri(code), code)


def range_holder(name: str) -> Holder:
    if icd.is_chapter(name):
        return Holder(name, "chapter", f"{ID}chapter/{name}", f"chapter/{name}")
    return Holder(name, "block", range_iri(name), f"range/{name}")


def parent_of(holder: Holder) -> Holder | None:
    """The item the holder sits in: its broader code, its block or its chapter."""
    parent = icd.get_parent(holder.name, prioritize_blocks=holder.blocks_first)
    if not parent:
        return None
    if holder.level == "code" and parent != holder.name and is_code(parent):
        return code_holder(parent)
    return range_holder(parent)


def chain(code: str) -> list[Holder]:
    """The code, then every item above it, nearest first."""
    out = [code_holder(code)]
    while (up := parent_of(out[-1])) is not None:
        out.append(up)
    return out


@functools.cache
def holders() -> tuple[Holder, ...]:
    """Every chapter, block and code of the set, in the package's order."""
    out = []
    for name in dict.fromkeys(icd.get_all_codes(with_dots=True)):
        if icd.is_chapter(name):
            out.append(range_holder(name))
            continue
        if icd.is_block(name):  # a block, or a category sharing its block's name (both, then)
            out.append(Holder(name, "block", range_iri(name), f"range/{name}"))
        if is_code(name):
            out.append(code_holder(name))
    return tuple(out)


def clean(text: str) -> str:
    """The words as written, with tabs and runs of spaces of the source XML made one space."""
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")).strip()


def notes_of(holder: Holder) -> list[Note]:
    """The notes written on one item (none inherited), each with its targets resolved."""
    out = []
    for kind, _, reader, listed in KINDS:
        read = getattr(icd, reader)
        texts = read(holder.name, prioritize_blocks=holder.blocks_first) if listed else \
            [read(holder.name, search_in_ancestors=False, prioritize_blocks=holder.blocks_first)]
        characters = {}
        if kind == "seventh-character":
            characters = icd.get_seven_chr_def(holder.name, prioritize_blocks=holder.blocks_first)
            if characters and not texts[0]:
                texts = ["7th characters"]
        for n, text in enumerate((t for t in texts if t and t.strip()), 1):
            note = Note(f"{ID}note/{holder.slug}/{kind}/{n}", kind, clean(text), holder,
                        characters={c: clean(m) for c, m in characters.items()})
            note.targets, note.unresolved = resolve(note.text)
            out.append(note)
    return out


def resolve(text: str) -> tuple[list[str], list[str]]:
    """(target IRIs, unresolved target texts) of the codes a note's words name."""
    targets, unresolved = [], []
    for match in TARGET.finditer(text):
        if NOT_A_CODE.search(text[: match.start()]):
            continue
        first, last = match.group(1), match.group(2)
        iri = _code_target(first) if last is None else _range_target(first, last)
        bucket, item = (targets, iri) if iri else (unresolved, match.group(0))
        if item not in bucket:
            bucket.append(item)
    return targets, unresolved


def _code_target(code: str) -> str | None:
    code = normalise(code)
    return code_iri(code) if is_code(code) else None


def _range_target(first: str, last: str) -> str | None:
    first, last = normalise(first), normalise(last)
    name = f"{first}-{last}"
    if icd.is_valid_item(name) and icd.is_block(name):
        return range_iri(name)
    if name in _chapters():
        return range_holder(_chapters()[name]).iri
    return range_iri(name) if range_members(first, last) else None


@functools.cache
def _chapters() -> dict[str, str]:
    """The extent of each chapter, as its title ends ("... (E00-E89)"), to its number."""
    out = {}
    for name in dict.fromkeys(_listed()):
        if icd.is_chapter(name) and (m := re.search(r"\(([A-Z0-9.]+-[A-Z0-9.]+)\)$", icd.get_description(name))):
            out[m.group(1)] = name
    return out


@functools.cache
def _listed() -> tuple[str, ...]:
    return tuple(icd.get_all_codes(with_dots=True))


@functools.cache
def _order() -> dict[str, int]:
    return {name: i for i, name in reversed(list(enumerate(_listed())))}


@functools.cache
def range_members(first: str, last: str) -> tuple[str, ...]:
    """The codes a range written first-last covers, outermost only: the codes the set lists
    from `first` to the last code below `last`. Empty when either end is no code or the
    ends are out of order."""
    if not (is_code(first) and is_code(last)):
        return ()
    order = _order()
    start, end = order[first], order[last] + len(icd.get_descendants(last))
    if end < start:
        return ()
    # a code is covered when all of it is: B65.0-B81.3 takes B81.0-B81.3, not B81
    window = [c for c in dict.fromkeys(_listed()[start:end + 1])
              if is_code(c) and order[c] + len(icd.get_descendants(c)) <= end]
    inside = set(window)
    return tuple(c for c in window if (parent := icd.get_parent(c)) == c or parent not in inside)


def is_range(iri: str) -> bool:
    """Whether a target IRI is a range (chapter, block or a range of a note), not a concept."""
    return iri.startswith((f"{ID}range/", f"{ID}chapter/"))


def is_block_range(iri: str) -> bool:
    """Whether a range IRI is a chapter or block of the set (not a range of our own)."""
    name = iri.rsplit("/", 1)[1]
    return iri.startswith(f"{ID}chapter/") or icd.is_valid_item(name) and icd.is_block(name)


def range_ends(iri: str) -> tuple[str, str]:
    first, _, last = iri.removeprefix(f"{ID}range/").partition("-")
    return first, last


def covers(target: str, code: str) -> bool:
    """Whether a note's target (a concept or range IRI) takes in `code` (dotted, of the set)."""
    ancestors = icd.get_ancestors(code)
    if not is_range(target):
        return target.removeprefix(ID) in (code, *ancestors)
    if is_block_range(target):
        return target.rsplit("/", 1)[1] in ancestors
    return any(m in (code, *ancestors) for m in range_members(*range_ends(target)))


def applying(code: str) -> list[tuple[Note, bool]]:
    """Every note that applies to `code`, with whether it is inherited: its own notes, then
    those of each item above it, nearest first; a 7th character from the nearest definition."""
    out, seventh = [], False
    for holder in chain(code):
        inherited = holder.name != code or holder.level != "code"
        for note in notes_of(holder):
            if inherited and note.kind in NOT_INHERITED:
                continue
            if note.kind == "seventh-character":
                if seventh or not note.characters:
                    continue
                seventh = True
            out.append((note, inherited))
    return out
