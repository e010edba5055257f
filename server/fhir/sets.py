"""The sets and maps the graph knows, as FHIR ValueSets and ConceptMaps built from the questions.

- ValueSet `indications-<code>`: the ICD-10-CM codes that support a procedure (question `indications`);
- ValueSet `family-<code>`: a code and its other approaches (question `related_codes`);
- ValueSet `modifiers-<code>`: the modifiers that apply to a code (question `modifiers`);
- ConceptMap `indications`: CPT/HCPCS -> ICD-10-CM, from the same indications;
- ConceptMap `related-codes`: a code -> its Medicare counterpart, and historical codes -> the codes
  that followed them, each target with its confidence and sources in `comment`.
"""

from ..questions import resolve_code
from ..errors import CoderefError
from ..namespaces import CR, ID, SKOS
from ..rdf.terms import IRI
from . import graph
from .graph import GraphCodeSystem, system_url

BASE = "https://w3id.org/coderef/fhir/"
KINDS = {"indications": "Diagnoses that support {code}", "family": "{code} and its other approaches",
         "modifiers": "Modifiers that apply to {code}"}
SEGMENT_SYSTEM = {spec[1]: url for url, spec in graph.SYSTEMS.items()}
INDICATIONS_MAP = f"{BASE}ConceptMap/indications"
RELATED_MAP = f"{BASE}ConceptMap/related-codes"
# relation type -> (direction, R4 equivalence): forward maps the code to the related code,
# reverse maps the related code back (the historical code to the one that followed it).
RELATIONS = {"medicare-counterpart": ("forward", "equivalent"), "historical-counterpart": ("reverse", "relatedto")}
_REVERSE = f"""PREFIX skos: <{SKOS}>
PREFIX cr: <{CR}>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX schema: <https://schema.org/>
SELECT ?from ?fromNotation ?fromLabel ?relationType ?comment ?confidence ?sourceTitle ?sourceUrl WHERE {{
  ?from cr:relation ?relation ; skos:notation ?fromNotation .
  ?relation cr:relatedCode ?code ; cr:relationType ?relationType .
  OPTIONAL {{ ?from skos:prefLabel ?fromLabel }}
  OPTIONAL {{ ?relation rdfs:comment ?comment }}
  OPTIONAL {{ ?relation cr:confidence ?confidence }}
  OPTIONAL {{ ?relation dct:source ?source OPTIONAL {{ ?source dct:title ?sourceTitle }} OPTIONAL {{ ?source schema:url ?sourceUrl }} }}
}} ORDER BY ?fromNotation ?sourceTitle"""


def _system_of(iri: str) -> str | None:
    return SEGMENT_SYSTEM.get(iri.removeprefix(ID).split("/", 1)[0])


def _provenance(rows) -> str:
    """'confidence: inferred; sources: title <url>, ...' for the rows of one statement."""
    confidence = next((r.get("confidence") for r in rows if r.get("confidence")), None)
    sources = []
    for r in rows:
        title, url = r.get("sourceTitle"), r.get("sourceUrl")
        text = f"{title} <{url}>" if title and url else title or url
        if text and text not in sources:
            sources.append(text)
    parts = [f"confidence: {confidence.rsplit('/', 1)[-1]}"] if confidence else []
    if rows and rows[0].get("comment"):
        parts.append(rows[0]["comment"].rstrip("."))
    parts.append("sources: " + ("; ".join(sources) if sources else "none recorded"))
    return ". ".join(parts)


class GraphTerminology:
    """The graph's code systems, value sets and concept maps, for one request's store."""

    def __init__(self, store, catalogue):
        self.store = store
        self.catalogue = catalogue

    def codesystem(self, url: str, version: str | None = None):
        url = system_url(url)
        return GraphCodeSystem(self.store, url) if url and not version else None

    def _ask(self, question: str, code_iri: IRI) -> list[dict]:
        if question not in self.catalogue:
            return []
        return self.catalogue.answer(self.store, question, {"code": code_iri}).records()

    def _code(self, notation: str) -> IRI | None:
        try:
            return resolve_code(self.store, notation)
        except CoderefError:
            return None

    def valueset(self, url: str) -> dict | None:
        """ValueSet `<BASE>ValueSet/<kind>-<code>` for a code the graph holds, else None."""
        if not url.startswith(BASE + "ValueSet/"):
            return None
        kind, _, notation = url.removeprefix(BASE + "ValueSet/").partition("-")
        code = self._code(notation) if kind in KINDS else None
        if code is None:
            return None
        include: dict[str, list] = {}
        if kind == "indications":
            for r in self._ask("indications", code):
                include.setdefault(graph.ICD10CM, []).append({"code": r["diagnosisNotation"], "display": r.get("diagnosisLabel")})
        elif kind == "modifiers":
            for r in self._ask("modifiers", code):
                include.setdefault(graph.MODIFIERS, []).append({"code": r["modifierNotation"], "display": r.get("modifierLabel")})
        else:
            system = _system_of(code.value)
            include.setdefault(system, []).append({"code": notation.upper()})
            for r in self._ask("related_codes", code):
                if r.get("relationType", "").endswith("/other-approach"):
                    include.setdefault(_system_of(r["relatedCode"]), []).append({"code": r["relatedNotation"]})
        compose = {"include": [{"system": s, "concept": _unique(c)} for s, c in include.items()]}
        name = f"{kind}-{notation.upper()}"
        return {"resourceType": "ValueSet", "id": name, "url": url, "name": name.replace("-", "_"),
                "title": KINDS[kind].format(code=notation.upper()), "status": "active", "experimental": False,
                "publisher": "coderef", "compose": compose}

    def conceptmaps(self, system: str | None, notation: str | None, reverse: bool = False) -> list[dict]:
        """The maps that hold what the graph says about one source code (targets when reverse)."""
        code = self._code(notation) if notation and system_url(system) else None
        if code is None or reverse:
            return []
        system = system_url(system)
        indications = {}
        for r in self._ask("indications", code):
            indications.setdefault(r["indication"], []).append(r)
        targets = [{"code": rows[0]["diagnosisNotation"], "display": rows[0].get("diagnosisLabel"),
                    "equivalence": "relatedto", "comment": _provenance(rows)} for rows in indications.values()]
        maps = [_map(INDICATIONS_MAP, "Indications", system, graph.ICD10CM, notation.upper(), targets)] if targets else []
        related: dict[tuple, list] = {}
        for r in self._ask("related_codes", code):
            kind = (r.get("relationType") or "").rsplit("/", 1)[-1]
            if RELATIONS.get(kind, ("",))[0] == "forward":
                related.setdefault((r["relatedCode"], r["relatedNotation"], r.get("relatedLabel"), kind), []).append(r)
        for r in self.store.select(_REVERSE, bindings={"code": code}).rows:
            r = {k: v["value"] for k, v in r.items()}
            kind = r["relationType"].rsplit("/", 1)[-1]
            if RELATIONS.get(kind, ("",))[0] == "reverse":
                related.setdefault((r["from"], r["fromNotation"], r.get("fromLabel"), kind), []).append(r)
        by_system: dict[str, list] = {}
        for (iri, target, label, kind), rows in related.items():
            by_system.setdefault(_system_of(iri), []).append(
                {"code": target, "display": label, "equivalence": RELATIONS[kind][1],
                 "comment": f"{kind.replace('-', ' ')}; {_provenance(rows)}"})
        maps += [_map(RELATED_MAP, "RelatedCodes", system, target_system, notation.upper(), targets)
                 for target_system, targets in by_system.items()]
        return maps


def _unique(concepts: list) -> list:
    seen, out = set(), []
    for c in concepts:
        if c["code"] not in seen:
            seen.add(c["code"])
            out.append({k: v for k, v in c.items() if v})
    return out


def _map(url, name, source, target, code, targets) -> dict:
    return {"resourceType": "ConceptMap", "url": url, "name": name, "status": "active",
            "group": [{"source": source, "target": target,
                       "element": [{"code": code, "target": [{k: v for k, v in t.items() if v} for t in targets]}]}]}
