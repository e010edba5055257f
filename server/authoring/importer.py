"""`coderef import FILE`: payer policies from a CSV or YAML table into data/, safely.

Each row is one coverage position of one policy (a policy with an autologous and an
allogeneic position is two rows sharing payer and policy id). Rows become Turtle in the
model of data/policies-*.ttl: a cr:CoveragePolicy at id/policy/<payer>/<slug> and a
cr:CoveragePosition at id/statement/<payer>-<slug>-<context>, each with confidence and
dct:source.

Nothing reaches data/ unless every row passes its own checks (payer slug, codes, status,
dates, address, ...) AND the whole reference, with the new file in it, conforms to the
shapes. The file is then written under a temporary name in data/, fsynced and renamed over
data/imported-<stem>.ttl, so a reader (or a process killed mid-write) sees the old file or
the new one, never a part. Importing the same file name again replaces that file; a
policy already described by a hand-written data file is refused (change it there: this
command adds policies, it does not rewrite reviewed Turtle).
"""

import datetime as dt
import difflib
import fcntl
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import rdflib
from rdflib.namespace import DCTERMS, RDF, XSD

from .. import config as cfg
from ..errors import DataError
from ..files import write_atomically
from ..namespaces import CR, ID, SCHEMA, SKOS
from ..rdf.parsing import parse_file
from ..validate.engine import validate
from .table import COLUMNS, Problem, read_rows

__all__ = ["COLUMNS", "Problem", "Outcome", "read_rows", "plan_import", "run_import", "atomic_write", "sweep_temporaries"]

CRN = rdflib.Namespace(CR)
SCHEMAN = rdflib.Namespace(SCHEMA)
TEMP_PREFIX = ".import-"  # temporary files in data/: never *.ttl, so never loaded

# Controlled lists read from the graph (id/vocab/<scheme>/<notation>), so a new status
# added to data/vocabularies.ttl is accepted with no change here.
VOCABULARIES = {"status": "coverage-status", "confidence": "confidence", "context": "clinical-context",
                "source_kind": "source-kind"}
CODE_SCHEMES = ("cpt", "hcpcs")


@dataclass
class Outcome:
    source: str
    target: str
    problems: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    positions: int = 0
    triples: int = 0
    written: bool = False
    turtle: str = ""
    validation: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "file": self.source, "target": self.target, "written": self.written,
                "policies": self.policies, "positions": self.positions, "triples": self.triples,
                "problems": [p.as_dict() for p in self.problems], "validation": self.validation}

    def to_text(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.problems:
            lines.append(f"{self.source}: {len(self.problems)} problem(s); nothing written to {self.target}")
        else:
            verb = "wrote" if self.written else "would write (dry run)"
            lines.append(f"{self.source}: {len(self.policies)} policies, {self.positions} positions, "
                         f"{self.triples} triples; the reference conforms; {verb} {self.target}")
            lines += [f"  {p}" for p in self.policies]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ what the graph knows


class Known:
    """Look-ups in the current reference: payers, codes, controlled lists, sources, and
    which file describes each subject."""

    def __init__(self, files):
        self.payers, self.codes, self.sources, self.owner = {}, {}, {}, {}
        self.vocab = {scheme: {} for scheme in VOCABULARIES.values()}
        notation = ox.NamedNode(SKOS + "notation")
        slug, url = ox.NamedNode(CR + "payerSlug"), ox.NamedNode(SCHEMA + "url")
        for path in files:
            for q in parse_file(path):
                s, p, o = q.subject, q.predicate, q.object
                if not isinstance(s, ox.NamedNode):
                    continue
                self.owner.setdefault(s.value, Path(path))
                if p == slug:
                    self.payers[o.value] = s.value
                elif p == url:
                    self.sources[o.value] = s.value
                elif p == notation:
                    rest = s.value[len(ID):] if s.value.startswith(ID) else ""
                    scheme, _, local = rest.partition("/")
                    if scheme in CODE_SCHEMES and local and "/" not in local:
                        self.codes[o.value] = s.value
                    elif scheme == "vocab":
                        name, _, _ = local.partition("/")
                        if name in self.vocab:
                            self.vocab[name][o.value] = s.value


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _suggest(value, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _date(value: str):
    """An xsd:date or xsd:gYearMonth literal (as precise as the source), or None."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            dt.date.fromisoformat(value)
            return rdflib.Literal(value, datatype=XSD.date)
        if re.fullmatch(r"\d{4}-\d{2}", value):
            dt.date.fromisoformat(value + "-01")
            return rdflib.Literal(value, datatype=XSD.gYearMonth)
    except ValueError:
        return None
    return None


def _good_url(value: str) -> bool:
    if not value or any(c.isspace() for c in value) or any(c in value for c in '<>"{}|\\^`'):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "." in parts.hostname


# ------------------------------------------------------------------ rows -> RDF


def _check_rows(rows, known: Known, replaced: Path | None) -> tuple[list, list]:
    """(checked rows with their RDF terms, problems)."""
    problems, checked = [], []

    def bad(row, column, message):
        problems.append(Problem(row["_row"], column, message, row["_line"]))

    for row in rows:
        ok = dict(row)
        for column, required in COLUMNS.items():
            if required and not row.get(column):
                bad(row, column, "empty; this column is required")
        payer = row.get("payer", "")
        if payer and payer not in known.payers:
            bad(row, "payer", f"unknown payer slug {payer!r}{_suggest(payer, known.payers)} (GET /api/payers lists them)")
        ok["payer_iri"] = known.payers.get(payer)
        codes = [c for c in re.split(r"[\s,;]+", row.get("codes", "")) if c]
        for code in codes:
            if code not in known.codes:
                bad(row, "codes", f"unknown code {code!r}: not a code the reference describes{_suggest(code, known.codes)}")
        ok["code_iris"] = [known.codes[c] for c in codes if c in known.codes]
        ok["code_list"] = codes
        for column, scheme in VOCABULARIES.items():
            value = row.get(column, "")
            if column == "context" and not value:
                value = "any"
            if column == "source_kind" and not value:
                continue
            key = slugify(value)  # "covered with criteria" is the label of covered-with-criteria
            if value and key not in known.vocab[scheme]:
                choices = ", ".join(sorted(known.vocab[scheme]))
                bad(row, column, f"{value!r} is not in the {scheme} list ({choices})")
            ok[column + "_iri"] = known.vocab[scheme].get(key)
            ok[column + "_key"] = key
        for column in ("effective_date", "last_reviewed"):
            value = row.get(column, "")
            ok[column + "_lit"] = _date(value) if value else None
            if value and ok[column + "_lit"] is None:
                bad(row, column, f"{value!r} is not a date; write YYYY-MM-DD, or YYYY-MM when the source gives only the month")
        url = row.get("source", "")
        if url and not _good_url(url):
            bad(row, "source", f"{url!r} is not an http(s) address")
        elif url and url not in known.sources:
            for column in ("source_title", "source_kind"):
                if not row.get(column):
                    bad(row, column, f"the address {url} is not a known source; give its {column.replace('_', ' ')}")
        if row.get("payer") and row.get("policy_id"):
            slug = slugify(row["policy_id"])
            ok["policy_iri"] = f"{ID}policy/{payer}/{slug}"
            ok["position_iri"] = f"{ID}statement/{payer}-{slug}-{ok.get('context_key') or 'any'}"
            for column, iri in (("policy_id", ok["policy_iri"]), ("context", ok["position_iri"])):
                owner = known.owner.get(iri)
                if owner is not None and (replaced is None or owner.resolve() != replaced.resolve()):
                    what = "policy" if column == "policy_id" else "position"
                    bad(row, column, f"{what} {iri[len(ID):]} is already described in {owner.parent.name}/{owner.name}; "
                        "change it there (import adds policies, it does not rewrite reviewed files)")
        checked.append(ok)

    # Rows of one policy must agree on what belongs to the policy.
    first = {}
    for row in checked:
        if "policy_iri" not in row:
            continue
        seen = first.setdefault(row["policy_iri"], row)
        if seen is row:
            continue
        for column in ("title", "effective_date", "last_reviewed"):
            if row.get(column, "") != seen.get(column, ""):
                bad(row, column, f"differs from row {seen['_row']} of the same policy ({seen.get(column, '')!r})")
    positions = {}
    for row in checked:
        if "position_iri" in row:
            other = positions.setdefault(row["position_iri"], row)
            if other is not row:
                bad(row, "context", f"row {other['_row']} already gives this policy's position for context "
                    f"{row.get('context_key')}; one row per clinical context")
    return checked, problems


def build_graph(rows, known: Known) -> rdflib.Graph:
    g = rdflib.Graph()
    for prefix, ns in (("cr", CR), ("dct", str(DCTERMS)), ("schema", SCHEMA), ("xsd", str(XSD)),
                       ("payer", ID + "payer/"), ("cpt", ID + "cpt/"), ("hcpcs", ID + "hcpcs/"),
                       ("stmt", ID + "statement/"), ("src", ID + "source/"),
                       ("cov", ID + "vocab/coverage-status/"), ("conf", ID + "vocab/confidence/"),
                       ("ctx", ID + "vocab/clinical-context/"), ("sk", ID + "vocab/source-kind/")):
        g.bind(prefix, ns)
    U = rdflib.URIRef
    for row in rows:
        policy, position, payer = U(row["policy_iri"]), U(row["position_iri"]), U(row["payer_iri"])
        url = row["source"]
        if url in known.sources:
            source = U(known.sources[url])
        else:
            host = urlsplit(url).hostname or "source"
            source = U(f"{ID}source/{slugify(host.removeprefix('www.'))}-{hashlib.sha256(url.encode()).hexdigest()[:8]}")
            g.add((source, RDF.type, CRN.Source))
            g.add((source, DCTERMS.title, rdflib.Literal(row["source_title"], lang="en")))
            g.add((source, CRN.sourceKind, U(row["source_kind_iri"])))
            g.add((source, SCHEMAN.url, rdflib.Literal(url, datatype=XSD.anyURI)))
        if (policy, RDF.type, CRN.CoveragePolicy) not in g:
            g.add((policy, RDF.type, CRN.CoveragePolicy))
            g.add((policy, CRN.issuedBy, payer))
            g.add((policy, CRN.policyIdentifier, rdflib.Literal(row["policy_id"])))
            g.add((policy, DCTERMS.title, rdflib.Literal(row["title"], lang="en")))
            if row["effective_date_lit"] is not None:
                g.add((policy, CRN.effectiveDate, row["effective_date_lit"]))
            if row["last_reviewed_lit"] is not None:
                g.add((policy, CRN.lastReviewed, row["last_reviewed_lit"]))
            g.add((policy, CRN.confidence, U(row["confidence_iri"])))
        g.add((policy, DCTERMS.source, source))
        g.add((policy, CRN.position, position))
        g.add((position, RDF.type, CRN.CoveragePosition))
        g.add((position, CRN.payer, payer))
        for code in row["code_iris"]:
            g.add((position, CRN.appliesTo, U(code)))
        g.add((position, CRN.coverageStatus, U(row["status_iri"])))
        g.add((position, CRN.clinicalContext, U(row["context_iri"])))
        if row["effective_date_lit"] is not None:
            g.add((position, CRN.effectiveDate, row["effective_date_lit"]))
        if row.get("criteria"):
            g.add((position, CRN.clinicalCriteria, rdflib.Literal(row["criteria"], lang="en")))
        g.add((position, CRN.confidence, U(row["confidence_iri"])))
        g.add((position, DCTERMS.source, source))
    return g


def to_turtle(g: rdflib.Graph, table: Path) -> str:
    head = (f"# Imported by `coderef import` from {table.name}: one coverage position per row.\n"
            "# Change the table and import it again rather than editing this file.\n\n")
    return head + g.serialize(format="turtle")


# ------------------------------------------------------------------ writing


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path`: old file or whole new one, whatever happens (server/files.py)."""
    write_atomically(path, [text], prefix=TEMP_PREFIX)


def sweep_temporaries(folder: Path) -> None:
    """Leftovers of an import killed before its rename; never loaded (not *.ttl)."""
    for stale in folder.glob(TEMP_PREFIX + "*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


# ------------------------------------------------------------------ the import


def target_for(table: Path, settings: dict) -> Path:
    return cfg.folder(settings, "DATA_DIR") / f"imported-{slugify(table.stem) or 'policies'}.ttl"


def _map_results(results, rows) -> list[Problem]:
    """SHACL violations as problems, filed under the row whose node they are about; one
    problem per row and rule (a conflict on three codes is one thing to fix)."""
    by_iri = {}
    for row in rows:
        for key in ("policy_iri", "position_iri"):
            by_iri.setdefault(row.get(key), row)
    columns = {"cr:coverageStatus": "status", "cr:effectiveDate": "effective_date", "cr:lastReviewed": "last_reviewed",
               "dct:title": "title", "cr:appliesTo": "codes", "cr:clinicalContext": "context",
               "cr:confidence": "confidence", "dct:source": "source"}
    grouped = {}
    for r in results:
        if r["severity"] != "Violation":
            continue
        row = by_iri.get(r["focus"])
        key = (row["_row"] if row else None, r["shape_label"])
        if key in grouped:
            grouped[key][1] += 1
        else:
            grouped[key] = [(row, r), 1]
    problems = []
    for (row, r), count in grouped.values():
        more = f" ({count} results of this rule)" if count > 1 else ""
        message = f"rule {r['shape_label']!r}: {r['message']}{more}"
        if row:
            problems.append(Problem(row["_row"], columns.get(r.get("path") or ""), message, row["_line"]))
        else:
            problems.append(Problem(None, None, f"the reference would not conform: {message}"))
    problems.sort(key=lambda p: (p.row is None, p.row or 0))
    return problems


def plan_import(table, settings=None, target: Path | None = None) -> Outcome:
    """Check the table and validate the reference with it; writes nothing."""

    settings = cfg.resolve(settings)
    table = Path(table)
    target = Path(target) if target else target_for(table, settings)
    outcome = Outcome(source=str(table), target=str(target))
    rows, outcome.problems = read_rows(table)
    existing = [p for p in cfg.data_files(settings) if p.resolve() != target.resolve()]
    known = Known(existing)
    if outcome.problems:  # no sense checking cells under a broken header
        return outcome
    checked, outcome.problems = _check_rows(rows, known, target)
    if outcome.problems:
        return outcome
    g = build_graph(checked, known)
    outcome.turtle = to_turtle(g, table)
    outcome.triples = len(g)
    outcome.policies = sorted({r["policy_iri"][len(ID):] for r in checked})
    outcome.positions = len(checked)
    with tempfile.TemporaryDirectory(prefix="coderef-import-") as tmp:
        candidate = Path(tmp) / target.name
        candidate.write_text(outcome.turtle, encoding="utf-8")
        data_only = [p for p in existing if p.suffix == ".ttl" and cfg.folder(settings, "DATA_DIR") in p.parents]
        try:
            report = validate(data_paths=[*data_only, candidate], settings=settings)
        except DataError as err:  # our own Turtle failed to parse: a defect here, said plainly
            outcome.problems.append(Problem(None, None, f"the generated Turtle did not parse: {err}"))
            return outcome
    outcome.validation = {"conforms": report.conforms, "counts": report.counts}
    if not report.conforms:
        outcome.problems = _map_results(report.results, checked)
    return outcome


def run_import(table, settings=None, dry_run=False) -> Outcome:
    """Plan, then write; one import at a time per data folder, so that a second import
    validates against what the first wrote rather than both against the old state."""
    settings = cfg.resolve(settings)
    folder = cfg.folder(settings, "DATA_DIR")
    lock = os.open(folder, os.O_RDONLY)  # a lock on the folder itself: no lock file in data/
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        outcome = plan_import(table, settings)
        sweep_temporaries(folder)
        if outcome.ok and not dry_run:
            atomic_write(Path(outcome.target), outcome.turtle)
            outcome.written = True
    finally:
        os.close(lock)  # releases the lock
    return outcome
