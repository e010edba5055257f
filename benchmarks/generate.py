"""Synthetic coding graphs for benchmarks, shaped like a large reference: procedure codes in
families, with bundles, modifier usages, indications and sites of service, and payers whose
dated policies cover those families in a few versions over the years.

Realistic where it matters to the engines:
- a payer states a bounded number of positions on a code (one policy per code family, one
  to three versions, sometimes split by clinical context), so checks and questions that
  compare one payer's positions on a code do bounded work per code;
- versions of a policy follow each other (a version ends the day before the next starts),
  so a clean graph has no conflicting positions;
- a bundled service is reported alone by an earlier code (bundling is acyclic);
- in half of the families the codes after the first are other approaches to one procedure
  (cr:relation, as 0584T/0585T/0586T), and a quarter of the policy versions name only some
  codes of their family, so family_inconsistencies has rows to find;
- diagnoses are real billable ICD-10-CM codes from simple_icd_10_cm, a few categories per
  family, written with their ancestors (titles, hierarchy and billable flags from the
  package), so skos:broader* questions have work to do.

Everything generated is marked synthetic and never enters data/: notations are a letter
W-Z and four digits (no HCPCS Level II code starts with these letters; the pattern of the
code system holds), labels say "Synthetic", payers and the source are named "synthetic".
The generated graph conforms to shapes/ (with the shipped reference beside it) unless
`violations` asks for some: that many of each kind in INJECTED, spread over the graph.

    python benchmarks/generate.py SIZE OUT.ttl [--violations N] [--seed S]
"""

import argparse
import os
import random
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.icd10cm import HEADER, all_codes, concept, icd  # noqa: E402

PREFIXES = HEADER.split("\n#")[0] + """@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
@prefix hcpcs:  <https://w3id.org/coderef/id/hcpcs/> .
@prefix mod:    <https://w3id.org/coderef/id/modifier/> .
@prefix pos:    <https://w3id.org/coderef/id/pos/> .
@prefix payer:  <https://w3id.org/coderef/id/payer/> .
@prefix src:    <https://w3id.org/coderef/id/source/> .
@prefix stmt:   <https://w3id.org/coderef/id/statement/synthetic/> .
"""

LETTERS = "WXYZ"  # HCPCS Level II uses A-V: a synthetic notation can never be a real code
PAYERS = 20
PAYERS_PER_FAMILY = 6  # on average: how many payers state a policy on one code family
MODIFIERS = ["22", "52", "53", "59", "76", "77", "78", "79", "XS", "XU", "Q0", "Q1", "GA", "GZ"]
POS = ["19", "21", "22", "24"]
COMPONENTS = ["imaging", "imaging-guidance", "supervision-interpretation", "vascular-access"]
STATUSES = ["covered", "covered-with-criteria", "clinical-trial-only", "investigational", "not-covered"]
CONTEXTS = ["autologous", "allogeneic"]
PAYER_TYPES = ["government", "commercial", "bcbs-plan"]
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
# The kinds of violation `violations` injects, each breaking the rule named.
INJECTED = {
    "conflicting-position": "PositionConflictShape",
    "bundling-cycle": "BundlingCycleShape",
    "category-diagnosis": "BillableDiagnosisShape",
    "dangling-code": "LinkTargetShape",
    "end-before-start": "DateOrderShape",
    "no-guidance": "ModifierGuidanceShape",
    "no-label": "CodeLabelShape",
}

# Written v:kind/term for brevity; Turtle local names cannot hold "/", so the writer expands them.
VOCAB = re.compile(r"\bv:([a-z-]+/[a-z0-9-]+)")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    if text in SIZES:
        return SIZES[text]
    if text.endswith("m"):
        return int(float(text[:-1]) * 1_000_000)
    if text.endswith("k"):
        return int(float(text[:-1]) * 1000)
    return int(text)


def notation(n: int) -> str:
    if n >= len(LETTERS) * 10000:
        raise ValueError(f"more than {len(LETTERS) * 10000} synthetic codes (about 8M triples)")
    return f"{LETTERS[n // 10000]}{n % 10000:04d}"


class Turtle:
    """Turtle text with a count of the triples written."""

    def __init__(self):
        self.chunks = []
        self.triples = 0

    def node(self, subject: str, *pairs):
        """pairs: (predicate, object) or (predicate, [objects])."""
        parts = []
        for p, o in pairs:
            objects = o if isinstance(o, list) else [o]
            if not objects:
                continue
            self.triples += len(objects)
            parts.append(f"{p} {' , '.join(objects)}")
        self.chunks.append(f"{subject} " + " ;\n    ".join(parts) + " .\n")

    def raw(self, text: str, triples: int):
        self.chunks.append(text)
        self.triples += triples

    def take(self) -> str:
        text, self.chunks = "".join(self.chunks), []
        return VOCAB.sub(r"<https://w3id.org/coderef/id/vocab/\1>", text)


def date(year: int, month: int = 1, day: int = 1) -> str:
    return f"\"{year:04d}-{month:02d}-{day:02d}\"^^xsd:date"


def _lit(text: str) -> str:
    return f"\"{text}\"@en"


class Generator:
    def __init__(self, seed: int, violations: int, expected_codes: int):
        self.rng = random.Random(seed)
        self.out = Turtle()
        self.codes = 0
        self.families = 0
        self.positions = 0
        self.relation_count = 0
        self.emitted_dx = set()
        self.standalone = []
        self.injected = defaultdict(int)
        self.violations = violations
        # where each violation goes: one of every kind per slot, slots spread over the codes
        slots = max(expected_codes, 1)
        self.inject_at = defaultdict(list)
        for kind in INJECTED:
            for k in range(violations):
                self.inject_at[(k * slots // max(violations, 1) + self.rng.randrange(max(slots // max(violations, 1), 1))) % slots].append(kind)
        billable = defaultdict(list)
        for code in all_codes():
            if icd.is_leaf(code) and "." in code:
                billable[code[:3]].append(code)
        self.categories = sorted(billable)
        self.billable = billable

    # -------------------------------------------------------------- pieces

    def header(self):
        o = self.out
        o.node("src:synthetic", ("a", "cr:Source"), ("dct:title", _lit("Synthetic benchmark data (not a reference)")),
               ("cr:sourceKind", "v:source-kind/secondary"))
        for p in range(PAYERS):
            o.node(f"payer:synthetic-{p:02d}", ("a", "cr:Payer"), ("schema:name", f"\"Synthetic payer {p:02d}\""),
                   ("cr:payerSlug", f"\"synthetic-{p:02d}\""), ("cr:payerType", f"v:payer-type/{PAYER_TYPES[p % 3]}"),
                   ("dct:source", "src:synthetic"), ("cr:confidence", "v:confidence/inferred"))

    def diagnosis(self, code: str) -> str:
        """The diagnosis's IRI, its concept (and its ancestors') written once."""
        for c in [code, *icd.get_ancestors(code)]:
            if c not in self.emitted_dx and icd.is_category_or_subcategory(c):
                self.emitted_dx.add(c)
                text = concept(c) + "\n"
                self.out.raw(text, sum(1 for _ in ox.parse(input=HEADER + text, format=ox.RdfFormat.TURTLE)))
        return f"<https://w3id.org/coderef/id/icd10cm/{code}>"

    def code(self, n: int, family: list[str], first: int, kinds: list[str]):
        o, rng = self.out, self.rng
        code = notation(n)
        iri = f"hcpcs:{code}"
        bundles, mods, inds, sites = [], [], [], []
        # The first code of a family is a standalone service (access, guidance, imaging) that
        # bundles nothing; the others bundle services reported alone by an earlier code of the
        # family or by a standalone code of any family, as NCCI column-2 codes mostly are.
        if n == first:
            self.standalone.append(n)
        for b in range(rng.choice((1, 1, 2, 2, 3)) if n > first else 0):
            node = f"stmt:{code}-bundle-{b}"
            bundles.append(node)
            alone = sorted({f"hcpcs:{notation(rng.randrange(first, n) if rng.random() < 0.5 else rng.choice(self.standalone))}"
                            for _ in range(rng.randint(1, 2))})
            o.node(node, ("a", "cr:BundledService"), ("rdfs:label", _lit(f"Synthetic component {b} of {code}")),
                   ("cr:componentType", f"v:component-type/{COMPONENTS[(n + b) % len(COMPONENTS)]}"),
                   ("cr:reportedAloneBy", alone), ("cr:confidence", "v:confidence/inferred"),
                   ("dct:source", "src:synthetic"))
        for m in sorted(rng.sample(MODIFIERS, rng.randint(1, 3))):
            node = f"stmt:{code}-mod-{m}"
            mods.append(node)
            guidance = [] if self.injected_now("no-guidance", kinds) else [_lit("Synthetic guidance")]
            o.node(node, ("a", "cr:ModifierUsage"), ("cr:modifier", f"mod:{m}"), ("cr:whenToUse", guidance),
                   ("cr:documentationRequired", _lit("Synthetic documentation")),
                   ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
        pool = [d for cat in family for d in self.billable[cat]]
        for d in sorted(rng.sample(pool, min(len(pool), rng.randint(1, 4)))):
            node = f"stmt:{code}-ind-{d}"
            inds.append(node)
            if self.injected_now("category-diagnosis", kinds):
                d = icd.get_parent(d)  # a category: billable false
            o.node(node, ("a", "cr:Indication"), ("cr:diagnosis", self.diagnosis(d)),
                   ("cr:indicationRole", "v:indication-role/" + ("primary-indication" if len(inds) == 1 else "supporting-diagnosis")),
                   ("cr:clinicalCriteria", _lit("Synthetic criteria")),
                   ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
        for p in sorted(rng.sample(POS, rng.randint(1, 2))):
            node = f"stmt:{code}-pos-{p}"
            sites.append(node)
            o.node(node, ("a", "cr:SiteOfService"), ("cr:placeOfService", f"pos:{p}"), ("cr:siteRole", "v:site-role/typical"),
                   ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
        if n > first + 1 and self.injected_now("bundling-cycle", kinds):
            # an earlier code of the family now includes a service reported alone by this one,
            # while this one includes a service reported alone by the earlier one: a pair
            # entered the wrong way round. The earlier code is not the family's standalone
            # service, which codes of every family include: a cycle through it would join
            # every family into one (at 6,000 injected cycles in 1M triples every code then
            # reaches every other, and "No bundling cycle" walks the whole graph per pair of
            # codes: 91 s), where a wrong pair makes a cycle of its own family.
            earlier = notation(first + 1)
            node = f"stmt:{earlier}-bundle-injected"
            o.node(f"hcpcs:{earlier}", ("cr:bundledService", node))
            o.node(node, ("a", "cr:BundledService"), ("rdfs:label", _lit(f"Synthetic component of {earlier}")),
                   ("cr:componentType", "v:component-type/imaging"), ("cr:reportedAloneBy", iri),
                   ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
            back = f"stmt:{code}-bundle-injected"
            bundles.append(back)
            o.node(back, ("a", "cr:BundledService"), ("rdfs:label", _lit(f"Synthetic component of {code}")),
                   ("cr:componentType", "v:component-type/imaging"), ("cr:reportedAloneBy", f"hcpcs:{earlier}"),
                   ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
        label = [] if self.injected_now("no-label", kinds) else [_lit(f"Synthetic procedure {code}")]
        o.node(iri, ("a", "cr:ProcedureCode"), ("skos:notation", f"\"{code}\""), ("skos:prefLabel", label),
               ("skos:inScheme", "scheme:hcpcs-level-ii"), ("cr:codeSystem", "scheme:hcpcs-level-ii"),
               ("cr:codeStatus", "v:code-status/active"), ("cr:effectiveDate", date(2008 + n % 15)),
               ("cr:bundledService", bundles), ("cr:modifierUsage", mods), ("cr:indication", inds),
               ("cr:siteOfService", sites), ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))

    def injected_now(self, kind: str, kinds: list[str]) -> bool:
        """Whether a planned injection of `kind` is due here (it is then used up)."""
        if kind in kinds:
            kinds.remove(kind)
            self.injected[kind] += 1
            return True
        return False

    def relations(self, codes: list[str]):
        """In half of the families, the codes after the first (the standalone service) are
        other approaches to one procedure, each related to each (as 0584T, 0585T and 0586T
        are): what family_inconsistencies reads."""
        approaches = codes[1:]
        if len(approaches) < 2 or self.rng.random() >= 0.5:
            return
        o = self.out
        for code in approaches:
            nodes = []
            for other in approaches:
                if other != code:
                    node = f"stmt:{code}-rel-{other}"
                    nodes.append(node)
                    o.node(node, ("a", "cr:CodeRelation"), ("cr:relationType", "v:relation-type/other-approach"),
                           ("cr:relatedCode", f"hcpcs:{other}"), ("cr:confidence", "v:confidence/inferred"),
                           ("dct:source", "src:synthetic"))
            o.node(f"hcpcs:{code}", ("cr:relation", nodes))
        self.relation_count += len(approaches) * (len(approaches) - 1)

    def policies(self, codes: list[str], kinds: list[str]):
        """Each covering payer's policy on the family: one to three dated versions, each one
        position (or two, split by clinical context)."""
        o, rng = self.out, self.rng
        fam = self.families
        payers = [p for p in range(PAYERS) if rng.random() < PAYERS_PER_FAMILY / PAYERS]
        for p in payers:
            slug = f"synthetic-{p:02d}"
            policy = f"<https://w3id.org/coderef/id/policy/{slug}/family-{fam}>"
            start = 2010 + rng.randrange(10)
            years = sorted(rng.sample(range(start, 2026), rng.randint(1, 3)))
            positions = []
            family = [f"hcpcs:{c}" for c in codes]
            for v, year in enumerate(years):
                # A quarter of the versions name only some of the family's codes (a payer's
                # policy often lists one approach and is silent on the others).
                applies = family
                if len(family) > 1 and rng.random() < 0.25:
                    applies = sorted(rng.sample(family, rng.randint(1, len(family) - 1)))
                month = 1 + rng.randrange(12)
                end = []
                if v + 1 < len(years):
                    end = [date(years[v + 1] - 1, 12, 31)]  # the next version starts the next year
                split = rng.random() < 0.2
                for ctx in (CONTEXTS if split else [None]):
                    self.positions += 1
                    node = f"stmt:{slug}-family-{fam}-v{v + 1}" + (f"-{ctx}" if ctx else "")
                    positions.append(node)
                    status = rng.choice(STATUSES)
                    o.node(node, ("a", "cr:CoveragePosition"), ("cr:payer", f"payer:{slug}"), ("cr:appliesTo", applies),
                           ("cr:coverageStatus", f"v:coverage-status/{status}"),
                           ("cr:clinicalContext", [f"v:clinical-context/{ctx}"] if ctx else []),
                           ("cr:effectiveDate", date(year, month)), ("cr:endDate", end),
                           ("cr:clinicalCriteria", _lit("Synthetic criteria")),
                           ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
                    if self.injected_now("conflicting-position", kinds):
                        other = STATUSES[(STATUSES.index(status) + 1) % len(STATUSES)]
                        conflicting = node + "-conflicting"
                        positions.append(conflicting)
                        o.node(conflicting, ("a", "cr:CoveragePosition"), ("cr:payer", f"payer:{slug}"), ("cr:appliesTo", applies[:1]),
                               ("cr:coverageStatus", f"v:coverage-status/{other}"),
                               ("cr:clinicalContext", [f"v:clinical-context/{ctx}"] if ctx else []),
                               ("cr:effectiveDate", date(year, month)),
                               ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))
                    elif self.injected_now("dangling-code", kinds):  # one injection per position
                        o.node(node, ("cr:appliesTo", f"<https://w3id.org/coderef/id/hcpcs/W{fam % 10000:04d}-typo>"))
                    elif not end and self.injected_now("end-before-start", kinds):
                        o.node(node, ("cr:endDate", date(year - 1, 6, 30)))
            last = years[-1]
            o.node(policy, ("a", "cr:CoveragePolicy"), ("cr:issuedBy", f"payer:{slug}"),
                   ("cr:policyIdentifier", f"\"SYN-{p:02d}-{fam}\""), ("dct:title", _lit(f"Synthetic policy {fam} of payer {p:02d}")),
                   ("cr:effectiveDate", date(years[0])), ("cr:lastReviewed", date(min(last + 1, 2025), 6)),
                   ("cr:nextReview", date(min(last + 2, 2026), 6)), ("cr:position", positions),
                   ("cr:confidence", "v:confidence/inferred"), ("dct:source", "src:synthetic"))

    # -------------------------------------------------------------- the graph

    def chunks(self, triples: int):
        self.header()
        kinds = []  # injections due and not yet made (some need a later code or a policy)
        while self.out.triples < triples or kinds or self.inject_at:
            size = self.rng.randint(2, 8)
            first = self.codes
            family = self.rng.sample(self.categories, self.rng.randint(1, 2))
            members = []
            for n in range(first, first + size):
                kinds += self.inject_at.pop(n, [])
                self.code(n, family, first, kinds)
                members.append(notation(n))
            self.codes += size
            self.relations(members)
            self.policies(members, kinds)
            self.families += 1
            yield self.out.take()

    def summary(self) -> dict:
        return {"triples": self.out.triples, "codes": self.codes, "families": self.families,
                "positions": self.positions, "relations": self.relation_count, "diagnoses": len(self.emitted_dx),
                "injected": dict(self.injected)}


TRIPLES_PER_CODE = 150  # measured (100k); only to spread the injected violations over the graph


def write(triples: int, out: Path, seed: int = 584, violations: int = 0) -> dict:
    """Write about `triples` synthetic triples (the shipped reference not included) to `out`;
    a summary: triples, codes, families, positions, diagnoses, injected {kind: count}."""
    out.parent.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed, violations, max(triples // TRIPLES_PER_CODE, 1))
    with open(out, "w", encoding="utf-8") as f:
        f.write(PREFIXES)
        for chunk in gen.chunks(triples):
            f.write(chunk)
    return gen.summary()


def make_root(folder: Path, *extra: Path) -> Path:
    """A ROOT for `coderef --root` (serve, validate): copies of the repository's ontology/,
    shapes/, queries/ and data/ (without modules/ and examples/), with each extra data file
    linked under data/modules/, which is loaded whenever present."""
    root = folder / "root"
    repo = Path(__file__).resolve().parent.parent
    # Copies, not links: the figures are of one state of the files, whatever changes meanwhile.
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(repo / name, root / name)
    shutil.copytree(repo / "data", root / "data", ignore=shutil.ignore_patterns("modules", "examples"))
    (root / "data" / "modules").mkdir()
    for path in extra:
        os.symlink(Path(path).resolve(), root / "data" / "modules" / Path(path).name)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", help="about how many triples: 10k, 100k, 1m, 250k, 5000 ...")
    parser.add_argument("out", type=Path)
    parser.add_argument("--violations", type=int, default=0, help="inject this many of each kind of violation")
    parser.add_argument("--seed", type=int, default=584)
    args = parser.parse_args(argv)
    summary = write(parse_size(args.size), args.out, args.seed, args.violations)
    print(f"{args.out}: {summary}", file=sys.stderr)


if __name__ == "__main__":
    main()
