"""`coderef diff OLD NEW`: what changed in the reference between two versions.

A side is a folder (a ROOT holding ontology/ and data/) or a git revision of the
repository at --root, read with `git ls-tree` and `git show REV:path` (nothing is checked
out). Both sides are the same set of files the app loads (data/examples/ left out), parsed
by one parser, and compared as sets of triples; triples with blank nodes, if any, are
compared after rdflib's canonical relabelling, so a renamed blank node is no change.

The changes are told in words, grouped by payer and by code ("Cigna Healthcare MM 0107
(allogeneic): status for 0584T investigational -> covered with criteria, effective
2026-01-01"), and given as a patch: SPARQL 1.1 Update (DELETE DATA / INSERT DATA) that
turns OLD into NEW on any SPARQL store.
"""

import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import rdflib
from rdflib.compare import isomorphic, to_canonical_graph
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from .. import config as cfg
from ..errors import BadRequest, DataError
from ..namespaces import CR, ID, SCHEMA
from ..rdf.parsing import RDFLIB_FORMATS

__all__ = ["Side", "Diff", "load_side", "diff_sides", "baseline_revision", "diff"]

CRN = rdflib.Namespace(CR)
SCHEMAN = rdflib.Namespace(SCHEMA)
# Codes that changes are grouped under (modifiers and places of service are filed by the
# code whose statement they sit in).
GROUP_SCHEMES = ("cpt", "hcpcs", "icd10cm")
PROPERTY_WORDS = {
    CRN.coverageStatus: "status", CRN.effectiveDate: "effective date", CRN.lastReviewed: "last reviewed",
    CRN.nextReview: "next review", CRN.endDate: "end date", CRN.clinicalCriteria: "criteria",
    CRN.appliesTo: "codes", DCTERMS.title: "title", CRN.confidence: "confidence", DCTERMS.source: "sources",
    CRN.policyIdentifier: "policy id", CRN.clinicalContext: "clinical context", RDFS.comment: "comment",
    CRN.position: "positions", SKOS.prefLabel: "label", SKOS.notation: "notation", RDF.type: "type",
}
KIND_WORDS = {CRN.CoveragePosition: "position", CRN.CoveragePolicy: "policy", CRN.Payer: "payer",
              CRN.Source: "source", CRN.BillingGuidance: "billing guidance"}


# ------------------------------------------------------------------ reading a side


@dataclass
class Side:
    label: str  # what the user named, with the commit for a revision
    graph: rdflib.Graph
    files: int = 0


def _git(repo: Path, *args: str, binary=False):
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise BadRequest("git is not installed; give two folders instead") from None
    if done.returncode != 0:
        return None
    return done.stdout if binary else done.stdout.decode("utf-8", "replace")


def resolve_revision(repo: Path, rev: str) -> str | None:
    """The commit a revision names, or None. Options are never passed as revisions."""
    if not rev or rev.startswith("-") or any(c.isspace() or ord(c) < 32 for c in rev):
        return None
    out = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    return out.strip() if out else None


def _subfolder(settings: dict, key: str) -> str:
    value = str(settings[key])
    return cfg.DEFAULTS[key] if Path(value).is_absolute() else value.strip("/")


def _wanted(path: str, ontology: str, data: str) -> bool:
    """The files config.data_files would load, by their path in the tree."""
    p = Path(path)
    if p.suffix.lower() != ".ttl":
        return False
    if p.parent == Path(ontology):
        return True
    parts = p.parts
    data_parts = Path(data).parts
    return parts[:len(data_parts)] == data_parts and "examples" not in parts[len(data_parts):-1]


def _parse(graph: rdflib.Graph, text: bytes, name: str, fmt: str):
    try:
        graph.parse(data=text, format=fmt)
    except Exception as err:  # rdflib's parsers raise many types; all mean "unreadable"
        raise DataError(name, getattr(err, "lineno", None), f"could not be read: {err}") from None


def load_side(spec: str, settings=None) -> Side:
    """A folder holding ontology/ and data/, or a git revision of the repository at ROOT."""
    settings = cfg.resolve(settings)
    folder = Path(spec)
    graph = rdflib.Graph()
    if folder.is_dir():
        files = cfg.data_files({**settings, "ROOT": str(folder.resolve())})
        if not files:
            raise BadRequest(f"{spec}: no ontology/ or data/ Turtle files in this folder")
        for path in files:
            _parse(graph, path.read_bytes(), str(path), RDFLIB_FORMATS.get(path.suffix.lower(), "turtle"))
        return Side(label=str(spec), graph=graph, files=len(files))
    repo = Path(settings["ROOT"])
    commit = resolve_revision(repo, spec)
    if commit is None:
        raise BadRequest(f"{spec!r} is neither a folder nor a git revision of {repo}")
    ontology, data = _subfolder(settings, "ONTOLOGY_DIR"), _subfolder(settings, "DATA_DIR")
    # Paths relative to the repository's top, which may sit above ROOT.
    prefix = (_git(repo, "rev-parse", "--show-prefix") or "").strip()
    listing = _git(repo, "ls-tree", "-r", "-z", "--name-only", commit, "--", f"{prefix}{ontology}", f"{prefix}{data}") or ""
    paths = sorted(p[len(prefix):] for p in listing.split("\0") if p.startswith(prefix) and p)
    paths = [p for p in paths if _wanted(p, ontology, data)]
    for path in paths:
        text = _git(repo, "show", f"{commit}:{prefix}{path}", binary=True)
        if text is None:
            raise DataError(f"{spec}:{path}", None, "git show failed")
        _parse(graph, text, f"{spec}:{path}", "turtle")
    return Side(label=f"{spec} ({commit[:10]})" if spec != commit else commit[:10], graph=graph, files=len(paths))


def baseline_revision(repo: Path) -> tuple[str, str] | None:
    """(revision, how it was chosen): the last tag, or the first commit when there is no
    tag; None outside a git repository."""
    tag = _git(repo, "describe", "--tags", "--abbrev=0")
    if tag and tag.strip():
        return tag.strip(), f"the last tag, {tag.strip()}"
    roots = _git(repo, "rev-list", "--max-parents=0", "HEAD")
    if roots and roots.split():
        first = roots.split()[-1]
        return first, f"the first commit, {first[:10]} (the repository has no tag)"
    return None


# ------------------------------------------------------------------ comparing


def _has_bnode(triple) -> bool:
    return any(isinstance(t, rdflib.BNode) for t in triple)


def compare(old: rdflib.Graph, new: rdflib.Graph) -> tuple[set, set]:
    """(removed, added) triples. Ground triples by set difference; the blank-node part of
    each graph canonicalised first (cheap: it is small, or empty as in the shipped data)."""
    ground_old = {t for t in old if not _has_bnode(t)}
    ground_new = {t for t in new if not _has_bnode(t)}
    removed, added = ground_old - ground_new, ground_new - ground_old
    blank_old, blank_new = rdflib.Graph(), rdflib.Graph()
    for t in old:
        if _has_bnode(t):
            blank_old.add(t)
    for t in new:
        if _has_bnode(t):
            blank_new.add(t)
    if (len(blank_old) or len(blank_new)) and not isomorphic(blank_old, blank_new):
        canon_old, canon_new = set(to_canonical_graph(blank_old)), set(to_canonical_graph(blank_new))
        removed |= canon_old - canon_new
        added |= canon_new - canon_old
    return removed, added


# ------------------------------------------------------------------ telling it in words


@dataclass
class Change:
    subject: str
    name: str  # "Cigna Healthcare MM 0107 (allogeneic)"
    kind: str  # position, policy, code, payer, source, ...
    action: str  # added, removed, changed
    property: str | None = None  # words for the property ("status")
    old: list = field(default_factory=list)
    new: list = field(default_factory=list)
    payer: str | None = None
    codes: list = field(default_factory=list)
    effective: str | None = None  # the new effective date, told beside a status change

    def sentence(self, codes=None) -> str:
        codes = self.codes if codes is None else codes
        about = f" for {', '.join(codes)}" if codes and self.kind in ("position", "billing guidance") and self.property != "codes" else ""
        if self.action == "added" and self.property is None:
            text = f"{self.name}: new {self.kind}"
            if self.new:
                text += f", {'; '.join(self.new)}"
            return text
        if self.action == "removed" and self.property is None:
            return f"{self.name}: {self.kind} removed"
        if self.old and self.new:
            text = f"{self.name}: {self.property}{about} {_join(self.old)} -> {_join(self.new)}"
        elif self.new:
            text = f"{self.name}: {self.property}{about} added: {_join(self.new)}"
        else:
            text = f"{self.name}: {self.property}{about} removed: {_join(self.old)}"
        if self.effective and self.property == "status":
            text += f", effective {self.effective}"
        return text


def _join(values) -> str:
    return ", ".join(values)


def _words(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", camel).lower()


class _Reader:
    """Labels and links looked up in the new graph first, then the old one."""

    def __init__(self, old: rdflib.Graph, new: rdflib.Graph):
        self.graphs = (new, old)

    def value(self, s, p):
        for g in self.graphs:
            v = g.value(s, p)
            if v is not None:
                return v
        return None

    def objects(self, s, p) -> set:
        return {o for g in self.graphs for o in g.objects(s, p)}

    def subjects(self, p, o) -> set:
        return {s for g in self.graphs for s in g.subjects(p, o)}

    def label(self, term) -> str:
        if isinstance(term, rdflib.Literal):
            text = str(term)
            return text if len(text) <= 100 else text[:97].rsplit(" ", 1)[0] + "..."
        for p in (SKOS.prefLabel, SKOS.notation, SCHEMAN.name, RDFS.label):
            v = self.value(term, p)
            if v is not None:
                return str(v)
        return _short(term)

    def notation(self, term):
        if isinstance(term, rdflib.URIRef) and str(term).startswith(ID):
            scheme = str(term)[len(ID):].split("/", 1)[0]
            if scheme in GROUP_SCHEMES:
                v = self.value(term, SKOS.notation)
                return str(v) if v is not None else str(term).rsplit("/", 1)[-1]
        return None

    def kind(self, s) -> str:
        types = self.objects(s, RDF.type)
        for t, word in KIND_WORDS.items():
            if t in types:
                return word
        if self.notation(s):
            return "code"
        if not types:
            return "resource"
        first = min(types, key=str)
        label = self.value(first, RDFS.label)
        return str(label).lower() if label is not None else _words(re.split(r"[#/]", str(first))[-1])

    def policy_of(self, s):
        found = sorted(self.subjects(CRN.position, s))
        return found[0] if found else None

    def payer_of(self, s, kind):
        if kind == "payer":
            return s
        payer = self.value(s, CRN.payer) or self.value(s, CRN.issuedBy)
        if payer is None and kind == "position":
            policy = self.policy_of(s)
            payer = policy is not None and self.value(policy, CRN.issuedBy) or None
        return payer

    def codes_of(self, s, kind) -> list:
        terms = set(self.objects(s, CRN.appliesTo))
        if kind == "policy":
            for pos in self.objects(s, CRN.position):
                terms |= self.objects(pos, CRN.appliesTo)
        if self.notation(s):
            terms.add(s)
        for g in self.graphs:  # the codes that point at this statement (bundled service, ...)
            for owner in g.subjects(None, s):
                if self.notation(owner):
                    terms.add(owner)
        return sorted({self.notation(t) for t in terms if self.notation(t)})

    def name(self, s, kind) -> str:
        if kind in ("position", "policy"):
            policy = s if kind == "policy" else self.policy_of(s)
            payer = self.payer_of(s, kind)
            parts = [self.label(payer)] if payer is not None else []
            if policy is not None:
                ident = self.value(policy, CRN.policyIdentifier) or self.value(policy, DCTERMS.title)
                parts.append(str(ident) if ident is not None else _short(policy))
            text = " ".join(parts) or _short(s)
            context = self.value(s, CRN.clinicalContext) if kind == "position" else None
            return f"{text} ({self.label(context)})" if context is not None else text
        if kind == "code":
            return self.notation(s)
        return self.label(s)

    def effective(self, new: rdflib.Graph, s):
        date = new.value(s, CRN.effectiveDate)
        if date is None:
            policy = next(iter(sorted(new.subjects(CRN.position, s))), None)
            date = new.value(policy, CRN.effectiveDate) if policy is not None else None
        return str(date) if date is not None else None


def _short(term) -> str:
    text = str(term)
    if text.startswith(ID):
        return text[len(ID):]
    if text.startswith(CR):
        return "cr:" + text[len(CR):]
    return text


def _property_words(p, reader) -> str:
    if p in PROPERTY_WORDS:
        return PROPERTY_WORDS[p]
    label = reader.value(p, RDFS.label)
    return str(label) if label is not None else _words(re.split(r"[#/]", str(p))[-1])


def describe(old: rdflib.Graph, new: rdflib.Graph, removed: set, added: set) -> list[Change]:
    reader = _Reader(old, new)
    by_subject = {}
    for sign, triples in (("-", removed), ("+", added)):
        for s, p, o in triples:
            by_subject.setdefault(s, {}).setdefault(p, {"-": [], "+": []})[sign].append(o)
    changes = []
    for s in sorted(by_subject, key=str):
        kind = reader.kind(s)
        payer = reader.payer_of(s, kind)
        base = dict(subject=str(s), name=reader.name(s, kind), kind=kind,
                    payer=reader.label(payer) if payer is not None else None, codes=reader.codes_of(s, kind))
        in_old, in_new = (s, None, None) in old, (s, None, None) in new
        if in_new and not in_old:
            details = []
            if kind == "position":
                status = new.value(s, CRN.coverageStatus)
                if status is not None:
                    details.append(f"{reader.label(status)} for {', '.join(base['codes'])}")
            elif new.value(s, DCTERMS.title) is not None:
                details.append(f'"{new.value(s, DCTERMS.title)}"')
            date = reader.effective(new, s) if kind in ("position", "policy") else None
            if date:
                details.append(f"effective {date}")
            changes.append(Change(action="added", new=details, **base))
            continue
        if in_old and not in_new:
            changes.append(Change(action="removed", **base))
            continue
        for p in sorted(by_subject[s], key=str):
            values = by_subject[s][p]
            changes.append(Change(
                action="changed", property=_property_words(p, reader),
                old=sorted(reader.label(o) for o in values["-"]), new=sorted(reader.label(o) for o in values["+"]),
                effective=reader.effective(new, s) if p == CRN.coverageStatus else None, **base))
    return changes


# ------------------------------------------------------------------ the diff


@dataclass
class Diff:
    old: str
    new: str
    removed: set
    added: set
    changes: list

    def by_payer(self) -> dict:
        groups = {}
        for c in self.changes:
            if c.payer:
                groups.setdefault(c.payer, []).append(c.sentence())
        return dict(sorted(groups.items()))

    def by_code(self) -> dict:
        groups = {}
        for c in self.changes:
            for code in c.codes:
                groups.setdefault(code, []).append(c.sentence([code]))
        return dict(sorted(groups.items()))

    def other(self) -> list:
        return [c.sentence() for c in self.changes if not c.payer and not c.codes]

    def summary(self) -> str:
        if not self.removed and not self.added:
            return f"No change between {self.old} and {self.new}."
        subjects = len({c.subject for c in self.changes})
        return (f"From {self.old} to {self.new}: {len(self.removed)} triples removed, {len(self.added)} added, "
                f"about {subjects} resource{'s' if subjects != 1 else ''}.")

    def to_text(self) -> str:
        lines = [self.summary()]
        for title, groups in (("By payer", self.by_payer()), ("By code", self.by_code())):
            if groups:
                lines += ["", title]
                for key, sentences in groups.items():
                    lines.append(f"  {key}")
                    lines += [f"    {s}" for s in sentences]
        if self.other():
            lines += ["", "Other changes"] + [f"  {s}" for s in self.other()]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        return {"ok": True, "old": self.old, "new": self.new, "removed": len(self.removed), "added": len(self.added),
                "summary": self.summary(), "by_payer": self.by_payer(), "by_code": self.by_code(), "other": self.other(),
                "changes": [{**asdict(c), "sentence": c.sentence()} for c in self.changes]}

    def to_patch(self) -> str:
        """SPARQL 1.1 Update turning OLD into NEW. DELETE DATA may not hold blank nodes, so
        removed triples with blank nodes go into a DELETE WHERE with variables."""
        ground = sorted(t for t in self.removed if not _has_bnode(t))
        blank = sorted(t for t in self.removed if _has_bnode(t))
        lines = [f"# coderef diff: {self.old} -> {self.new}",
                 f"# {len(self.removed)} triples removed, {len(self.added)} added (SPARQL 1.1 Update)",
                 "DELETE DATA {"]
        lines += [f"  {_nt(t)}" for t in ground]
        lines.append("} ;")
        if blank:
            names = {}
            lines.append("DELETE WHERE {")
            for t in blank:
                lines.append("  " + " ".join(
                    names.setdefault(x, f"?b{len(names)}") if isinstance(x, rdflib.BNode) else x.n3() for x in t) + " .")
            lines.append("} ;")
        lines.append("INSERT DATA {")
        lines += [f"  {_nt(t)}" for t in sorted(self.added)]
        lines.append("}")
        return "\n".join(lines) + "\n"


def _nt(triple) -> str:
    return " ".join(term.n3() for term in triple) + " ."


def diff_sides(old: Side, new: Side) -> Diff:
    removed, added = compare(old.graph, new.graph)
    return Diff(old=old.label, new=new.label, removed=removed, added=added,
                changes=describe(old.graph, new.graph, removed, added))


def diff(old_spec: str, new_spec: str, settings=None) -> Diff:
    settings = cfg.resolve(settings)
    return diff_sides(load_side(old_spec, settings), load_side(new_spec, settings))
