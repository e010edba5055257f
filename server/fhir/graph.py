"""The reference's code systems as FHIR code systems, answered from the store by bound queries.

CPT (Category I and III together), ICD-10-CM, HCPCS Level II, Place of Service and the
modifiers each have a canonical URL; a concept is read when asked for (label, alternative
labels, status, billable flag, broader and narrower codes), never copied out of the store.
"""

from ..namespaces import CR, ID, SKOS
from ..questions import CODE_PATTERNS
from ..rdf.terms import IRI
from .outcome import FhirError
from .systems import Concept

CPT = "http://www.ama-assn.org/go/cpt"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
MODIFIERS = f"{ID}scheme/modifiers"
SCHEME = f"{ID}scheme/"
# url -> (id, IRI segment of its codes, skos:ConceptScheme ids, name, title)
SYSTEMS = {
    CPT: ("cpt", "cpt", ("cpt-category-i", "cpt-category-iii"), "CPT", "Current Procedural Terminology (CPT)"),
    ICD10CM: ("icd-10-cm", "icd10cm", ("icd10cm",), "ICD10CM", "ICD-10-CM"),
    HCPCS: ("hcpcs", "hcpcs", ("hcpcs-level-ii",), "HCPCS", "HCPCS Level II"),
    POS: ("pos", "pos", ("pos",), "PlaceOfService", "CMS Place of Service codes"),
    MODIFIERS: ("modifiers", "modifier", ("modifiers",), "Modifiers", "CPT and HCPCS modifiers"),
}
ALIASES = {"https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": HCPCS}
INACTIVE = ("deleted", "archived")
STATUS = "https://w3id.org/coderef/id/vocab/code-status/"

_PREFIXES = f"PREFIX skos: <{SKOS}>\nPREFIX cr: <{CR}>\n"
_CONCEPT = _PREFIXES + """SELECT ?notation ?label ?alt ?status ?billable ?parent ?parentLabel ?child ?childLabel ?scheme WHERE {
  ?code skos:notation ?notation ; skos:inScheme ?scheme .
  OPTIONAL { ?code skos:prefLabel ?label }
  OPTIONAL { ?code skos:altLabel ?alt }
  OPTIONAL { ?code cr:codeStatus ?status }
  OPTIONAL { ?code cr:billable ?billable }
  OPTIONAL { ?code skos:broader ?parent . ?parent skos:notation ?parentNotation OPTIONAL { ?parent skos:prefLabel ?parentLabel } }
  OPTIONAL { ?child skos:broader ?code . ?child skos:notation ?childNotation OPTIONAL { ?child skos:prefLabel ?childLabel } }
}"""
_ALL = _PREFIXES + """SELECT ?code ?notation ?label ?status ?billable ?parent WHERE {
  ?code skos:inScheme ?scheme ; skos:notation ?notation .
  OPTIONAL { ?code skos:prefLabel ?label }
  OPTIONAL { ?code cr:codeStatus ?status }
  OPTIONAL { ?code cr:billable ?billable }
  OPTIONAL { ?code skos:broader ?parent }
} ORDER BY ?notation"""
_DESCENDANTS = _PREFIXES + "SELECT DISTINCT ?notation WHERE { ?d skos:broader+ ?code ; skos:notation ?notation } ORDER BY ?notation"
_SCHEME = _PREFIXES + "SELECT ?label ?definition ?publisher WHERE { OPTIONAL { ?scheme skos:prefLabel ?label } " \
    "OPTIONAL { ?scheme skos:definition ?definition } OPTIONAL { ?scheme <http://purl.org/dc/terms/publisher> ?publisher } }"


def _value(row, name):
    term = row.get(name)
    return None if term is None else term["value"]


def _slug(iri):
    return iri.rsplit("/", 1)[-1] if iri else None


class GraphCodeSystem:
    """One of the reference's code systems; every call is a query on the request's store."""

    case_sensitive = False
    content = "complete"
    status = "active"
    experimental = False
    standards_status = None
    language = "en"

    def __init__(self, store, url: str):
        self.store = store
        self.url = url
        self.id, self.segment, self.schemes, self.name, self.title = SYSTEMS[url]
        self.version = None
        self._cache: dict = {}

    @property
    def canonical(self) -> str:
        return self.url

    def _iri(self, code: str) -> IRI | None:
        pattern = CODE_PATTERNS[self.segment]
        return IRI(f"{ID}{self.segment}/{code}") if pattern.match(code) else None

    def get(self, code: str) -> Concept | None:
        if code in self._cache:
            return self._cache[code]
        iri = self._iri(code)
        rows = self.store.select(_CONCEPT, bindings={"code": iri}).rows if iri else []
        rows = [r for r in rows if _value(r, "scheme").removeprefix(SCHEME) in self.schemes]
        concept = None
        if rows:
            first = rows[0]
            concept = Concept(_value(first, "notation"), _value(first, "label"))
            for r in rows:
                for name, target in (("parent", concept.parents), ("child", concept.children)):
                    other = _value(r, name)
                    if other:
                        notation = other.rsplit("/", 1)[-1]
                        if notation not in target:
                            target.append(notation)
                            concept.labels[notation] = _value(r, name + "Label")
                alt = _value(r, "alt")
                if alt and all(d["value"] != alt for d in concept.designations):
                    concept.designations.append({"language": "en", "value": alt})
            concept.properties = self._properties(first)
            if _value(first, "billable") == "false":
                below = ", ".join(concept.children[:8]) or "a more specific code"
                concept.notes = [f"The code '{concept.code}' is not billable: a claim needs a more specific code "
                                 f"below it ({below})"]
        self._cache[code] = concept
        return concept

    def _properties(self, row) -> list:
        status = _slug(_value(row, "status"))
        props = []
        if status:
            props.append({"code": "status", "valueCode": status})
        if status in INACTIVE:
            props.append({"code": "inactive", "valueBoolean": True})
        billable = _value(row, "billable")
        if billable is not None:
            props.append({"code": "billable", "valueBoolean": billable in ("true", "1")})
        return props

    def locate(self, code: str):
        concept = self.get((code or "").strip().upper())
        return (concept, concept is not None and concept.code == code) if concept else (None, False)

    def all(self):
        cap = self.store.settings["RESULT_CAP"]
        concepts = {}
        for scheme in self.schemes:
            result = self.store.select(_ALL, bindings={"scheme": IRI(SCHEME + scheme)}, cap=cap)
            if result.truncated:
                raise FhirError(f"{self.title} has more than {cap} codes: ask for a filter", 422, "too-costly")
            for r in result.rows:
                notation = _value(r, "notation")
                concept = concepts.get(notation)
                if concept is None:
                    concept = concepts[notation] = Concept(notation, _value(r, "label"), properties=self._properties(r))
                parent = _value(r, "parent")
                if parent and _slug(parent) not in concept.parents:
                    concept.parents.append(_slug(parent))
        return iter(sorted(concepts.values(), key=lambda c: c.code))

    def descendants(self, code: str) -> list[str]:
        iri = self._iri(code)
        if iri is None:
            return []
        return [_value(r, "notation") for r in self.store.select(_DESCENDANTS, bindings={"code": iri}).rows]

    def resource(self, summary: bool = False) -> dict:
        """The CodeSystem resource (content not-present: concepts are read through the operations)."""
        rows = self.store.select(_SCHEME, bindings={"scheme": IRI(SCHEME + self.schemes[-1])}).rows
        row = rows[0] if rows else {}
        out = {"resourceType": "CodeSystem", "id": self.id, "url": self.url, "name": self.name, "title": self.title,
               "status": "active", "experimental": False}
        if _value(row, "publisher"):
            out["publisher"] = _value(row, "publisher")
        if _value(row, "definition"):
            out["description"] = _value(row, "definition")
        out.update({"caseSensitive": False, "content": "not-present", "property": [
            {"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"},
            {"code": "child", "uri": "http://hl7.org/fhir/concept-properties#child", "type": "code"},
            {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status", "type": "code"},
            {"code": "inactive", "uri": "http://hl7.org/fhir/concept-properties#inactive", "type": "boolean"},
            {"code": "billable", "uri": f"{CR}billable", "type": "boolean"}]})
        return out


def system_url(url: str | None) -> str | None:
    """The canonical url of one of the reference's systems (the https HCPCS form accepted), or None."""
    url = ALIASES.get(url, url)
    return url if url in SYSTEMS else None


def by_id(store, system_id: str) -> GraphCodeSystem | None:
    url = next((u for u, spec in SYSTEMS.items() if spec[0] == system_id), None)
    return GraphCodeSystem(store, url) if url else None

