"""Our own words: find runs of six or more words that the reference's texts share with licensed descriptor texts.

CPT descriptors are the AMA's licensed text, and the pages that give them (the fact sheet's
sources) are other people's prose. The reference paraphrases both. To check that without
keeping those texts in the repository, the check keeps only fingerprints: a hash of every run
of RUN consecutive words of each source text (data/wording/descriptor-fingerprints.tsv, made by
`coderef check-wording --build DIR` from text files kept outside the repository). A literal of
data/ that contains a run whose hash is in the file shares that run with a source.

Words are compared after folding case, punctuation and British spelling ("catheterisation" is
"catheterization"), so changing only those does not make a copy one's own.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..errors import ConfigError, DataError
from ..files import write_atomically

__all__ = ["RUN", "words", "runs", "shared_runs", "build", "read_fingerprints", "Copy", "find_copies"]

RUN = 6
WORD = re.compile(r"[a-z0-9]+")
# British to American endings, so a respelt copy is still a copy.
SPELLING = ((re.compile(r"isation"), "ization"),
            (re.compile(r"(speciali|optimi|catheteri|minimi|characteri|recogni|organi|stabili)s(e|ed|es|ing)\b"), r"\1z\2"),
            (re.compile(r"visualis"), "visualiz"), (re.compile(r"\bhaem"), "hem"),
            (re.compile(r"programme"), "program"), (re.compile(r"\bcentre"), "center"),
            (re.compile(r"\banaesth"), "anesth"), (re.compile(r"&"), " and "))
# Generated from the official code set, not written by us (see README's data rules).
SKIPPED_FILES = ("icd10cm-indications.ttl",)
# Addresses are where a source is, not words of ours: a slug may spell a descriptor out.
SKIPPED_PREDICATES = ("https://schema.org/url",)
# Quoted on purpose, each with its reason: a citation names a publication by its own title.
QUOTED = {
    ("https://w3id.org/coderef/id/source/seed-0584t", "http://purl.org/dc/terms/title"):
        "the seed publication's title, quoted to cite it (a title, not a descriptor)",
}


def words(text: str) -> list[str]:
    text = text.lower()
    for pattern, replacement in SPELLING:
        text = pattern.sub(replacement, text)
    return WORD.findall(text)


def _hash(run) -> str:
    return hashlib.sha256(" ".join(run).encode("utf-8")).hexdigest()[:16]


def runs(text: str, run: int = RUN) -> set[str]:
    """The fingerprints of every run of `run` consecutive words of a text."""
    w = words(text)
    return {_hash(w[i:i + run]) for i in range(len(w) - run + 1)}


def shared_runs(text: str, prints: dict, run: int = RUN) -> list[tuple[str, str]]:
    """The longest runs of the text's own words whose every `run`-word window is in `prints`,
    each with the source the first of them came from."""
    w = words(text)
    hits = [i for i in range(len(w) - run + 1) if _hash(w[i:i + run]) in prints]
    found, start, end = [], None, None
    for i in hits + [None]:
        if start is not None and (i is None or i > end - run + 1):
            found.append((" ".join(w[start:end]), prints[_hash(w[start:start + run])]))
            start = None
        if i is not None:
            if start is None:
                start = i
            end = i + run
    return found


def build(folder: Path, out: Path) -> int:
    """Write the fingerprints of every text file in `folder` (first line: the source's address,
    then its text) to `out`; the texts themselves stay where they are. Returns the count."""
    texts = sorted(Path(folder).glob("*.txt"))
    if not texts:
        raise ConfigError(f"{folder}: no .txt files (each holds a source's address on its first line, then its text)")
    prints: dict[str, str] = {}
    for path in texts:
        address, _, text = path.read_text(encoding="utf-8").partition("\n")
        if not address.strip().startswith(("http://", "https://", "file:")):
            raise ConfigError(f"{path}, line 1: the first line must be the source's address, not {address[:60]!r}")
        # the address's own words count too: a page's slug often spells its descriptor out
        slug = re.sub(r"^[a-z]+://[^/]+", "", address.strip())
        for h in runs(text) | runs(slug.replace("-", " ").replace("/", " ")):
            prints.setdefault(h, address.strip())
    lines = ["# Fingerprints of runs of %d words of the descriptor texts the fact sheet's sources give." % RUN,
             "# Made by `coderef check-wording --build DIR`; the texts are not in the repository.",
             "# hash<TAB>source address"]
    lines += [f"{h}\t{a}" for h, a in sorted(prints.items())]
    write_atomically(out, ["\n".join(lines) + "\n"])
    return len(prints)


def read_fingerprints(path: Path) -> dict[str, str]:
    prints = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, address = line.partition("\t")
        if not sep or not re.fullmatch(r"[0-9a-f]{16}", digest):
            raise ConfigError(f"{path}, line {number}: expected a 16-digit hash, a tab and an address")
        prints[digest] = address
    return prints


@dataclass(frozen=True)
class Copy:
    file: str
    line: int
    subject: str
    predicate: str
    run: str
    source: str

    def __str__(self) -> str:
        return (f"{self.file}:{self.line}: <{self.subject}> <{self.predicate}> shares "
                f"{len(self.run.split())} words with {self.source}: \"{self.run}\"")


def _line_of(text: str, subject: str, literal: str) -> int:
    """The line of the literal in the Turtle text: its first occurrence after the line where
    the subject's block opens (0 when not found, e.g. a literal written with escapes)."""
    local = re.split(r"[/#]", subject)[-1]
    block = re.search(rf"^\S*:{re.escape(local)}\s", text, re.MULTILINE)
    probe = literal[:40]
    at = text.find(probe, block.start() if block else 0)
    if at < 0:
        at = text.find(probe)
    return text.count("\n", 0, at) + 1 if at >= 0 else 0


def find_copies(files, prints: dict) -> list[Copy]:
    """Every literal of the Turtle `files` (but the generated ones) that shares a run with a
    fingerprinted source, with its file and line."""
    found = []
    for path in files:
        path = Path(path)
        if path.name in SKIPPED_FILES:
            continue
        text = path.read_text(encoding="utf-8")
        store = ox.Store()
        try:
            store.load(text, format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri())
        except SyntaxError as err:
            raise DataError(path, None, f"not Turtle: {err}") from None
        for quad in store:
            if not isinstance(quad.object, ox.Literal) or quad.predicate.value in SKIPPED_PREDICATES:
                continue
            if (quad.subject.value, quad.predicate.value) in QUOTED:
                continue
            for run, source in shared_runs(quad.object.value, prints):
                found.append(Copy(str(path), _line_of(text, quad.subject.value, quad.object.value), quad.subject.value,
                                  quad.predicate.value, run, source))
    return sorted(found, key=lambda c: (c.file, c.line, c.predicate))
