"""The claim-line check: one claim in, findings out, nothing written.

A check copies the claim, and the part of the reference each term of the claim names
(rules/_context.rq, run once per term through the app's store, embedded or remote), into a
scratch in-memory graph, then runs every rule of rules/<rule_id>.rq over it. The rules, and
the facts they read (data/claim-rules.ttl beside the codes, payers and modifiers), are data:
adding a code or a payer adds no code here. What Python adds is only what no file holds:
the official ICD-10-CM code set's verdict on each diagnosis of the claim.

A rule is a SELECT whose rows are findings: ?message, optionally ?line and ?severity (else
the rule's clm:severity), and the facts it rests on in every column named fact* (an IRI, or
a literal holding IRIs separated by spaces), and last the rule's own statement in
data/claim-rules.ttl, which gives its severities and sources. The sources of a finding are the
addresses of its facts' dct:source.
"""

import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from . import config as cfg
from .errors import BadRequest, ConfigError
from .namespaces import CR, DCT, ID, RDF, SCHEMA, SKOS, XSD
from .icd10cm import icd, normalise  # the code set loads on first use (~3 s, ~100 MB)
from .icd_claims import FIELD as UNRELATED, RULES as NOTE_RULES, note_findings, parse_unrelated
from .questions import CODE_PATTERNS, PAYER_SLUG
from .rdf.terms import IRI
from .sparql.text import tokens

__all__ = ["Claim", "parse_claim", "check_claim", "load_rules"]

CLM = "https://w3id.org/coderef/claim#"
RULE = ID + "claim-rule/"
RULE_SET = RULE + "all"
CODE_SET_SOURCE = ID + "source/icd10cm-2026"
CLAIM = "urn:coderef:claim"

SEVERITIES = ("error", "warning", "info")
FIELDS = ("payer", "date_of_service", "place_of_service", "diagnoses", "clinical_trial_nct", "lines", UNRELATED)
LINE_FIELDS = ("code", "modifiers", "units")
NCT = re.compile(r"^NCT[0-9]{8}$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DIAGNOSIS_TEXT = re.compile(r"^[A-Z0-9][A-Z0-9.]{0,9}$")
# Bounds on one claim: a CMS-1500 holds 12 diagnoses, 4 modifiers a line; more lines than a
# paper claim, but few enough that one check stays a few dozen small queries.
MAX_DIAGNOSES = 12
MAX_LINES = 50
MAX_MODIFIERS = 4
MAX_UNITS = 9999


# ------------------------------------------------------------------ the claim


@dataclass
class Line:
    number: int
    code: str
    scheme: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1


@dataclass
class Claim:
    payer: str
    date_of_service: str
    place_of_service: str
    diagnoses: list[str]
    lines: list[Line]
    clinical_trial_nct: str | None = None
    unrelated_conditions: list = field(default_factory=list)  # pairs of diagnoses (server/icd_claims.py)


class ClaimProblems(BadRequest):
    """Every input error of a claim at once. `problems`: (field, words, message), where field
    is the JSON path (lines[0].code) and words how a coder names it (Line 1 code)."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, _, m in problems))


FIELD_WORDS = {"payer": "Payer", "date_of_service": "Date of service", "place_of_service": "Place of service",
               "diagnoses": "Diagnoses", "clinical_trial_nct": "Clinical trial number", "lines": "Claim lines", "claim": "Claim"}


def field_words(path: str) -> str:
    """"lines[0].modifiers[1]" as a coder says it: "Line 1 modifier 2"."""
    words = re.sub(r"^lines\[(\d+)\]", lambda m: f"Line {int(m.group(1)) + 1}", path)
    words = re.sub(r"^diagnoses\[(\d+)\]", lambda m: f"Diagnosis {int(m.group(1)) + 1}", words)
    words = re.sub(r"\.modifiers\[(\d+)\]", lambda m: f" modifier {int(m.group(1)) + 1}", words)
    words = re.sub(r"\.(\w+)", lambda m: " " + m.group(1).replace("_", " "), words)
    return FIELD_WORDS.get(words, words)


class _Problems(list):
    def add(self, path: str, message: str):
        self.append((path, field_words(path), message))


def _text(value, name: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(name, "is missing" if value in (None, "") else f"expected a non-empty string, not {json.dumps(value)[:60]}")
        return None
    return value.strip()


def _list(value, name: str, limit: int, required: bool, problems: _Problems) -> list:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        problems.add(name, f"expected a list, not {json.dumps(value)[:60]}")
        return []
    if required and not value:
        problems.add(name, "give at least one")
    if len(value) > limit:
        problems.add(name, f"at most {limit}, not {len(value)}")
        return []
    return value


def parse_line(obj, index: int, problems: _Problems | None = None) -> Line | None:
    own = problems is None
    problems = _Problems() if own else problems
    where, count = f"lines[{index}]", len(problems)
    if not isinstance(obj, dict):
        problems.add(where, "expected an object with code, modifiers and units")
        return _done(None, problems, own)
    for extra in sorted(set(obj) - set(LINE_FIELDS)):
        problems.add(f"{where}.{extra}", f"unknown field; a claim line has {', '.join(LINE_FIELDS)}")
    code = (_text(obj.get("code"), f"{where}.code", problems) or "").upper()
    scheme = next((s for s in ("cpt", "hcpcs") if CODE_PATTERNS[s].match(code)), None)
    if code and scheme is None:
        problems.add(f"{where}.code", f"{code!r} is not a CPT or HCPCS Level II code such as 0584T or G0341")
    modifiers = []
    for j, value in enumerate(_list(obj.get("modifiers"), f"{where}.modifiers", MAX_MODIFIERS, False, problems)):
        modifier = (_text(value, f"{where}.modifiers[{j}]", problems) or "").upper()
        if modifier and not CODE_PATTERNS["modifier"].match(modifier):
            problems.add(f"{where}.modifiers[{j}]", f"{modifier!r} is not a two-character modifier such as 59 or Q0")
        elif modifier and modifier not in modifiers:
            modifiers.append(modifier)
    units = obj.get("units", 1)
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
        problems.add(f"{where}.units", f"expected a whole number from 1 to {MAX_UNITS}, not {json.dumps(units)[:40]}")
    line = Line(index + 1, code, scheme, modifiers, units) if len(problems) == count else None
    return _done(line, problems, own)


def _done(value, problems: _Problems, own: bool):
    if own and problems:
        raise ClaimProblems(list(problems))
    return value


def parse_claim(obj) -> Claim:
    """A Claim from decoded JSON, or ClaimProblems (a BadRequest) naming every bad field."""
    problems = _Problems()
    if not isinstance(obj, dict):
        problems.add("claim", "expected a JSON object with payer, date_of_service, place_of_service, diagnoses and lines")
        raise ClaimProblems(problems)
    for extra in sorted(set(obj) - set(FIELDS)):
        problems.add(extra, f"unknown field; a claim has {', '.join(FIELDS)}")
    payer = (_text(obj.get("payer"), "payer", problems) or "").lower()
    if payer and not PAYER_SLUG.match(payer):
        problems.add("payer", f"{payer!r} is not a payer such as medicare or cigna (the payers are listed at /coverage)")
    date = _text(obj.get("date_of_service"), "date_of_service", problems)
    try:
        if date is not None and not DATE.match(date):
            raise ValueError
        if date is not None:
            datetime.date.fromisoformat(date)
    except ValueError:
        problems.add("date_of_service", f"{date!r} is not a date written YYYY-MM-DD")
    pos = obj.get("place_of_service")
    pos = f"{pos:02d}" if isinstance(pos, int) and not isinstance(pos, bool) and 0 < pos < 100 else _text(pos, "place_of_service", problems)
    if pos is not None and not CODE_PATTERNS["pos"].match(pos):
        problems.add("place_of_service", f"{pos!r} is not a two-digit Place of Service code such as 21")
    diagnoses = []
    for i, value in enumerate(_list(obj.get("diagnoses"), "diagnoses", MAX_DIAGNOSES, False, problems)):
        text = (_text(value, f"diagnoses[{i}]", problems) or "").upper()
        if text and not DIAGNOSIS_TEXT.match(text):
            problems.add(f"diagnoses[{i}]", f"{text[:40]!r} is not written like an ICD-10-CM code such as E10.649")
        elif text:
            code = normalise(text)  # dotted when in the set (a table look-up; icd.add_dot scans the set)
            if code not in diagnoses:
                diagnoses.append(code)
    nct = obj.get("clinical_trial_nct")
    if nct is not None:
        nct = (_text(nct, "clinical_trial_nct", problems) or "").upper()
        if nct and not NCT.match(nct):
            problems.add("clinical_trial_nct", f"{nct!r} is not an NCT number (NCT and eight digits)")
    lines = [parse_line(line, i, problems) for i, line in enumerate(_list(obj.get("lines"), "lines", MAX_LINES, True, problems))]
    if problems:
        raise ClaimProblems(list(problems))
    return Claim(payer, date, pos, diagnoses, lines, nct, parse_unrelated(obj.get(UNRELATED), diagnoses))


# ------------------------------------------------------------------ the scratch graph


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def claim_triples(claim: Claim) -> list:
    """The claim in the clm: vocabulary of data/claim-rules.ttl."""
    c = _n(CLAIM)
    triples = [
        ox.Triple(c, _n(RDF + "type"), _n(CLM + "Claim")),
        ox.Triple(c, _n(CLM + "payer"), _n(f"{ID}payer/{claim.payer}")),
        ox.Triple(c, _n(CLM + "dateOfService"), ox.Literal(claim.date_of_service, datatype=_n(XSD + "date"))),
        ox.Triple(c, _n(CLM + "placeOfService"), _n(f"{ID}pos/{claim.place_of_service}")),
    ]
    if claim.clinical_trial_nct:
        triples.append(ox.Triple(c, _n(CLM + "trialNumber"), ox.Literal(claim.clinical_trial_nct)))
    for code in claim.diagnoses:
        triples.append(ox.Triple(c, _n(CLM + "diagnosis"), _n(f"{ID}icd10cm/{code}")))
    for line in claim.lines:
        node = _n(f"{CLAIM}:line:{line.number}")
        triples += [
            ox.Triple(c, _n(CLM + "line"), node),
            ox.Triple(node, _n(CLM + "lineNumber"), ox.Literal(str(line.number), datatype=_n(XSD + "integer"))),
            ox.Triple(node, _n(CLM + "code"), _n(f"{ID}{line.scheme}/{line.code}")),
            ox.Triple(node, _n(CLM + "units"), ox.Literal(str(line.units), datatype=_n(XSD + "integer"))),
        ]
        triples += [ox.Triple(node, _n(CLM + "modifier"), _n(f"{ID}modifier/{m}")) for m in line.modifiers]
    return triples


def code_set_triples(diagnoses) -> list:
    """What the official ICD-10-CM code set says of each diagnosis: whether it is in the set,
    billable (a leaf), and its title."""
    triples = []
    boolean = _n(XSD + "boolean")
    for code in diagnoses:
        node = _n(f"{ID}icd10cm/{code}")
        known = icd.is_valid_item(code)
        triples.append(ox.Triple(node, _n(CLM + "inCodeSet"), ox.Literal("true" if known else "false", datatype=boolean)))
        triples.append(ox.Triple(node, _n(DCT + "source"), _n(CODE_SET_SOURCE)))
        if known:
            leaf = icd.is_leaf(code)
            triples.append(ox.Triple(node, _n(CR + "billable"), ox.Literal("true" if leaf else "false", datatype=boolean)))
            triples.append(ox.Triple(node, _n(SKOS + "prefLabel"), ox.Literal(icd.get_description(code), language="en")))
    return triples


def focus_terms(claim: Claim) -> list[str]:
    """Every term of the claim whose part of the reference a rule may read, and the rules' own
    metadata (the rule set, one hop to each rule)."""
    terms = [RULE_SET, CODE_SET_SOURCE, f"{ID}payer/{claim.payer}", f"{ID}pos/{claim.place_of_service}"]
    terms += [f"{ID}icd10cm/{code}" for code in claim.diagnoses]
    for line in claim.lines:
        terms.append(f"{ID}{line.scheme}/{line.code}")
        terms += [f"{ID}modifier/{m}" for m in line.modifiers]
    return list(dict.fromkeys(terms))


# ------------------------------------------------------------------ rules


@dataclass(frozen=True)
class Rules:
    context: str
    rules: dict  # rule id -> query text


_CACHE: dict = {}


def rules_folder(settings: dict) -> Path:
    """RULES_DIR (default rules/ under ROOT); a ROOT without rules/ uses the shipped ones."""
    settings = {**settings, "RULES_DIR": settings.get("RULES_DIR") or "rules"}
    folder = cfg.folder(settings, "RULES_DIR")
    return folder if folder.is_dir() else cfg.REPO_ROOT / "rules"


def load_rules(settings: dict) -> Rules:
    """The context query and every rule, each parsed once (a bad rule fails here, loudly)."""
    folder = rules_folder(settings)
    files = sorted(folder.glob("*.rq"))
    key = (str(folder), tuple((f.name, f.stat().st_mtime_ns) for f in files))
    if key in _CACHE:
        return _CACHE[key]
    context_file = folder / "_context.rq"
    if not context_file.is_file():
        raise ConfigError(f"{context_file}: missing (the query that copies a claim's part of the reference)")
    probe = ox.Store()
    rules = {}
    for path in files:
        if path.name.startswith("_"):
            continue
        text = path.read_text(encoding="utf-8")
        try:
            answer = probe.query(text)
        except SyntaxError as err:
            raise ConfigError(f"{path}: not a SPARQL query: {err}") from None
        if not isinstance(answer, ox.QuerySolutions) or "message" not in {v.value for v in answer.variables}:
            raise ConfigError(f"{path}: a rule is a SELECT with a ?message column")
        rules[path.stem] = text
    loaded = Rules(context_file.read_text(encoding="utf-8"), rules)
    _CACHE.clear()
    _CACHE[key] = loaded
    return loaded


def with_focus(query: str, terms) -> str:
    """The context query with ?focus bound to every term at once, as a VALUES block opening
    its WHERE group (terms serialized by pyoxigraph, never pasted): one query per claim
    instead of one per term, and Oxigraph plans a VALUES join better than a substitution."""
    block = "VALUES ?focus { " + " ".join(str(ox.NamedNode(t)) for t in terms) + " }"
    seen_where = False
    for kind, value, _, end in tokens(query):
        if kind == "word" and value.upper() == "WHERE":
            seen_where = True
        elif seen_where and value == "{":
            return f"{query[:end]} {block} {query[end:]}"
    raise ConfigError("rules/_context.rq: no WHERE group to bind ?focus in")


def _value(term) -> str | None:
    return None if term is None else term.value


def rule_metadata(scratch: ox.Store, prop: str = "severity") -> dict:
    """rule id -> its clm:severity (default), or another value of the rules (reducedSeverity),
    as data/claim-rules.ttl states it."""
    return {q.subject.value.removeprefix(RULE): q.object.value
            for q in scratch.quads_for_pattern(None, _n(CLM + prop), None)}


def _sources(scratch: ox.Store, facts) -> list[str]:
    out = []
    for fact in facts:
        for quad in scratch.quads_for_pattern(_n(fact), _n(DCT + "source"), None):
            source = quad.object
            urls = [q.object.value for q in scratch.quads_for_pattern(source, _n(SCHEMA + "url"), None)]
            for address in urls or [source.value]:
                if address not in out:
                    out.append(address)
    return out


def run_rule(scratch: ox.Store, rule_id: str, query: str, default: str) -> list[dict]:
    findings = []
    solutions = scratch.query(query)
    columns = [v.value for v in solutions.variables]
    fact_columns = [c for c in columns if c.startswith("fact")]
    for row in solutions:
        message = _value(row["message"])
        if not message:
            continue
        severity = _value(row["severity"]) if "severity" in columns else None
        line = _value(row["line"]) if "line" in columns else None
        facts = []
        for column in fact_columns:
            term = row[column]
            values = [] if term is None else [term.value] if isinstance(term, ox.NamedNode) else term.value.split()
            facts += [v for v in values if v not in facts]
        facts.append(RULE + rule_id)  # the rule's statement: its severity, meaning and sources
        findings.append({
            "severity": severity if severity in SEVERITIES else default,
            "rule": rule_id,
            "line": int(line) if line is not None else None,
            "message": message,
            "facts": facts,
        })
    return findings


def _merge(findings: list[dict]) -> list[dict]:
    """One finding per (rule, line, severity, message): rows that differ only in a fact."""
    merged, order = {}, []
    for f in findings:
        key = (f["rule"], f["line"], f["severity"], f["message"])
        if key not in merged:
            merged[key] = f
            order.append(key)
        else:
            merged[key]["facts"] += [x for x in f["facts"] if x not in merged[key]["facts"]]
    return [merged[k] for k in order]


def check_claim(store, claim, settings: dict | None = None) -> list[dict]:
    """The findings of one claim (a Claim or its decoded JSON) against the reference in
    `store` (anything with .ask and .construct), most severe first. Reads the store only."""
    settings = cfg.resolve(settings if settings is not None else getattr(store, "settings", None))
    if not isinstance(claim, Claim):
        claim = parse_claim(claim)
    rules = load_rules(settings)
    payer = f"{ID}payer/{claim.payer}"
    if not store.ask(f"ASK {{ ?payer a <{CR}Payer> }}", bindings={"payer": IRI(payer)}):
        raise ClaimProblems([("payer", "Payer", f"no payer {claim.payer!r} in the reference (the payers are listed at /coverage)")])

    scratch = ox.Store()
    scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in claim_triples(claim))
    scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in code_set_triples(claim.diagnoses))
    triples = store.construct(with_focus(rules.context, focus_terms(claim)))
    scratch.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)

    defaults = rule_metadata(scratch)
    missing = sorted((set(rules.rules) | set(NOTE_RULES)) - set(defaults))
    if missing:
        raise ConfigError(f"rules {', '.join(missing)}: no clm:severity in the data (data/claim-rules.ttl)")
    findings = []
    for rule_id, query in rules.rules.items():
        findings += run_rule(scratch, rule_id, query, defaults[rule_id])
    reduced = rule_metadata(scratch, "reducedSeverity")
    for f in note_findings(claim):  # the ICD-10-CM notes' edits (server/icd_claims.py)
        rule_id = f["rule"]
        # The severity is the data's: the rule's own, or its reduced one where the finding qualifies.
        f["severity"] = reduced.get(rule_id, defaults[rule_id]) if f.pop("reduced") else defaults[rule_id]
        f["facts"].append(RULE + rule_id)  # the rule's statement, last, as for the query rules
        findings.append(f)
    findings = _merge(findings)
    for f in findings:
        f["sources"] = _sources(scratch, f["facts"])
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (rank[f["severity"]], f["line"] or 0, f["rule"]))
    return findings


def summary(findings: list[dict]) -> dict:
    return {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}


def format_text(findings: list[dict]) -> str:
    if not findings:
        return "no findings: the claim passes every rule\n"
    out = []
    for f in findings:
        where = f"line {f['line']}" if f["line"] else "claim"
        out.append(f"{f['severity'].upper():8}{where:9}{f['rule']}\n  {f['message']}\n")
        for source in f["sources"]:
            out.append(f"  source: {source}\n")
    counts = summary(findings)
    out.append(", ".join(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items()) + "\n")
    return "".join(out)
