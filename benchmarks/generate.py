"""Synthetic coding graphs for benchmarks: the shipped reference plus generated procedure
codes with bundles, modifier usages, indications, sites of service, payers and dated
policies, up to a target number of triples.

Everything generated is marked synthetic and never enters data/: notations end in W-Z
(no CPT code does), payers and sources are named "synthetic". Diagnoses are real billable
ICD-10-CM codes drawn from simple_icd_10_cm, written with their ancestors (titles,
hierarchy and billable flags from the package), so skos:broader* questions have work to do.

    python benchmarks/generate.py 100k OUT.ttl
"""

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import config as cfg  # noqa: E402
from server.icd10cm import HEADER, all_codes, concept, with_ancestors  # noqa: E402

PREFIXES = HEADER.split("\n#")[0] + """@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix cpt:    <https://w3id.org/coderef/id/cpt/> .
@prefix mod:    <https://w3id.org/coderef/id/modifier/> .
@prefix pos:    <https://w3id.org/coderef/id/pos/> .
@prefix payer:  <https://w3id.org/coderef/id/payer/> .
@prefix policy: <https://w3id.org/coderef/id/policy/> .
@prefix src:    <https://w3id.org/coderef/id/source/> .
@prefix stmt:   <https://w3id.org/coderef/id/statement/synthetic/> .
"""

SUFFIXES = "ZYXW"  # CPT uses F, T, U, M, A and digits as the fifth character: never these
PAYERS = 20
MODIFIERS = ["22", "52", "53", "59", "76", "77", "78", "79", "XS", "XU", "Q0", "Q1", "GA", "GZ"]
POS = ["19", "21", "22", "24"]
COMPONENTS = ["imaging", "imaging-guidance", "supervision-interpretation", "vascular-access"]
STATUSES = ["covered", "covered-with-criteria", "clinical-trial-only", "investigational", "not-covered"]
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
TRIPLES_PER_CODE = 77  # measured on the output below; the generator stops at the target anyway


# Written v:kind/term for brevity; Turtle local names cannot hold "/", so the writer expands them.
VOCAB = re.compile(r"\bv:([a-z-]+/[a-z0-9-]+)")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    return SIZES.get(text) or int(float(text.rstrip("k")) * 1000 if text.endswith("k") else text)


def notation(n: int) -> str:
    return f"{n % 10000:04d}{SUFFIXES[n // 10000]}"


def header() -> str:
    lines = [PREFIXES, "src:synthetic a cr:Source ; dct:title \"Synthetic benchmark data (not a reference)\"@en ;"
             " cr:sourceKind v:source-kind/secondary .\n"]
    for p in range(PAYERS):
        lines.append(f"payer:synthetic-{p:02d} a cr:Payer ; schema:name \"Synthetic payer {p:02d}\" ; "
                     f"cr:payerSlug \"synthetic-{p:02d}\" ; dct:source src:synthetic .\n")
    return "".join(lines).replace("schema:name", "<https://schema.org/name>")


def code_block(n: int, total: int, rng: random.Random, diagnoses: list) -> str:
    code = notation(n)
    iri = f"cpt:{code}"
    out = [f"{iri} a cr:ProcedureCode ; skos:notation \"{code}\" ;",
           f"    skos:prefLabel \"Synthetic benchmark procedure {n}\"@en ;",
           "    skos:inScheme scheme:cpt-category-i ; cr:codeSystem scheme:cpt-category-i ;",
           "    cr:codeStatus v:code-status/active ;",
           f"    cr:effectiveDate \"{2015 + n % 11}-01-01\"^^xsd:date ;",
           "    cr:confidence v:confidence/inferred ; dct:source src:synthetic ;"]
    links = []
    body = []
    for b in range(3):
        node = f"stmt:{code}-bundle-{b}"
        links.append(f"cr:bundledService {node}")
        other = notation(rng.randrange(total))
        body.append(f"{node} a cr:BundledService ; rdfs:label \"Synthetic component {b} of {code}\"@en ;"
                    f" cr:componentType v:component-type/{COMPONENTS[b % len(COMPONENTS)]} ;"
                    f" cr:reportedAloneBy cpt:{other} ; cr:confidence v:confidence/inferred ; dct:source src:synthetic .")
    for m in rng.sample(MODIFIERS, 2):
        node = f"stmt:{code}-mod-{m}"
        links.append(f"cr:modifierUsage {node}")
        body.append(f"{node} a cr:ModifierUsage ; cr:modifier mod:{m} ; cr:whenToUse \"Synthetic guidance\"@en ;"
                    f" cr:documentationRequired \"Synthetic documentation\"@en ; cr:confidence v:confidence/inferred ;"
                    " dct:source src:synthetic .")
    for d in rng.sample(diagnoses, 2):
        node = f"stmt:{code}-ind-{d}"
        links.append(f"cr:indication {node}")
        body.append(f"{node} a cr:Indication ; cr:diagnosis icd:{d} ;"
                    " cr:indicationRole v:indication-role/primary-indication ;"
                    " cr:clinicalCriteria \"Synthetic criteria\"@en ; cr:confidence v:confidence/inferred ;"
                    " dct:source src:synthetic .")
    for p in rng.sample(POS, 2):
        node = f"stmt:{code}-pos-{p}"
        links.append(f"cr:siteOfService {node}")
        body.append(f"{node} a cr:SiteOfService ; cr:placeOfService pos:{p} ; cr:siteRole v:site-role/typical ;"
                    " cr:confidence v:confidence/inferred ; dct:source src:synthetic .")
    out.append("    " + " ;\n    ".join(links) + " .")
    return "\n".join(out + body) + "\n"


def policy_block(n: int, codes: list, rng: random.Random) -> str:
    """One payer's dated policy over a group of codes, with one position."""
    payer = f"payer:synthetic-{n % PAYERS:02d}"
    year = 2016 + rng.randrange(10)
    node = f"<https://w3id.org/coderef/id/policy/synthetic-{n % PAYERS:02d}/policy-{n}>"
    position = f"stmt:policy-{n}-position"
    applies = " , ".join(f"cpt:{c}" for c in codes)
    end = f" cr:endDate \"{year + 2}-12-31\"^^xsd:date ;" if rng.random() < 0.3 else ""
    return (f"{node} a cr:CoveragePolicy ; cr:issuedBy {payer} ; cr:policyIdentifier \"SYN-{n}\" ;"
            f" dct:title \"Synthetic policy {n}\"@en ; cr:effectiveDate \"{year}-0{1 + n % 9}-01\"^^xsd:date ;"
            f" cr:lastReviewed \"{year + 1}-06-01\"^^xsd:date ; cr:nextReview \"{year + 2}-06-01\"^^xsd:date ;{end}"
            f" cr:position {position} ; cr:confidence v:confidence/inferred ; dct:source src:synthetic .\n"
            f"{position} a cr:CoveragePosition ; cr:payer {payer} ; cr:appliesTo {applies} ;"
            f" cr:coverageStatus v:coverage-status/{rng.choice(STATUSES)} ; cr:confidence v:confidence/inferred ;"
            " dct:source src:synthetic .\n")


def generate(triples: int, seed: int = 584):
    """Chunks of Turtle: about `triples` triples beside the shipped reference (not included)."""
    rng = random.Random(seed)
    billable = [c for c in all_codes() if "." in c and len(c) >= 6]
    codes = max(triples // TRIPLES_PER_CODE, 10)
    diagnoses = rng.sample(billable, min(len(billable), max(50, codes // 4)))
    yield header()
    # The diagnoses as ICD-10-CM concepts (with ancestors): real titles, hierarchy and flags.
    for code in with_ancestors(diagnoses):
        yield concept(code) + "\n"
    for n in range(codes):
        yield code_block(n, codes, rng, diagnoses)
    for n in range(max(codes // 5, 1)):
        group = [notation(rng.randrange(codes)) for _ in range(rng.randint(1, 6))]
        yield policy_block(n, sorted(set(group)), rng)


def write(triples: int, out: Path, seed: int = 584) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for chunk in generate(triples, seed):
            f.write(VOCAB.sub(r"<https://w3id.org/coderef/id/vocab/\1>", chunk))
    return out


def dataset(triples: int, folder: Path) -> list[Path]:
    """The files of one benchmark data set: the shipped ontology and data, plus the synthetic part."""
    reference = cfg.data_files(cfg.resolve({}))
    reference = [p for p in reference if "modules" not in p.parts]
    return reference + [write(triples, folder / f"synthetic-{triples}.ttl")]


if __name__ == "__main__":
    size, out = sys.argv[1], Path(sys.argv[2])
    write(parse_size(size), out)
    print(out)
