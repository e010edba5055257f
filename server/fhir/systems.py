"""Code systems held in memory: a FHIR CodeSystem resource (a tx-resource) read into concepts.

`Concept` is also what the graph's code systems answer with (graph.py), so the operations
see one shape whatever holds the codes.
"""

from dataclasses import dataclass, field

from .outcome import FhirError

STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
INACTIVE_STATUSES = ("retired", "inactive")
VALUE_KEYS = ("valueCode", "valueCoding", "valueString", "valueInteger", "valueBoolean", "valueDateTime",
              "valueDecimal", "valueUri")


@dataclass
class Concept:
    code: str
    display: str | None = None
    definition: str | None = None
    designations: list = field(default_factory=list)  # FHIR designation dicts
    properties: list = field(default_factory=list)  # FHIR concept.property dicts {code, value[x]}
    parents: list = field(default_factory=list)  # codes
    children: list = field(default_factory=list)  # codes
    labels: dict = field(default_factory=dict)  # code -> display, for parents and children
    notes: list = field(default_factory=list)  # warnings a validation of the code reports (not billable, ...)

    def property_values(self, name: str) -> list:
        return [value_of(p) for p in self.properties if p.get("code") == name]

    @property
    def status(self) -> str | None:
        values = self.property_values("status")
        return str(values[0]) if values else None

    @property
    def inactive(self) -> bool:
        return True in self.property_values("inactive") or self.status in INACTIVE_STATUSES

    @property
    def abstract(self) -> bool:
        return True in self.property_values("notSelectable")


def value_of(part: dict):
    """The value[x] of a property or parameter, whatever its type (a Coding as its code)."""
    for key in VALUE_KEYS:
        if key in part:
            value = part[key]
            return value.get("code") if isinstance(value, dict) else value
    return None


def value_key(part: dict) -> str | None:
    return next((k for k in part if k.startswith("value")), None)


class CodeSystem:
    """One version of a code system whose concepts are all in memory."""

    def __init__(self, resource: dict):
        if not resource.get("url"):
            raise FhirError("a CodeSystem given as tx-resource has no url", 400, "required")
        self.resource = resource
        self.url = resource["url"]
        self.version = resource.get("version")
        self.language = resource.get("language")
        self.name = resource.get("name") or resource.get("title") or self.url
        self.status = resource.get("status")
        self.experimental = bool(resource.get("experimental"))
        self.standards_status = next((e.get("valueCode") for e in resource.get("extension", [])
                                      if e.get("url") == STANDARDS_STATUS), None)
        self.case_sensitive = resource.get("caseSensitive", True) is not False
        self.content = resource.get("content", "complete")
        self.concepts: dict[str, Concept] = {}
        self._read(resource.get("concept", []), None)
        self._folded = {code.lower(): code for code in self.concepts}

    def _read(self, items: list, parent: str | None):
        if not isinstance(items, list):
            raise FhirError(f"tx-resource CodeSystem {self.url}: 'concept' should be a list", 400, "structure")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not item["code"]:
                raise FhirError(f"tx-resource CodeSystem {self.url}: concept {i} (under {parent or 'the top'}) has no "
                                "code", 400, "structure")
            concept = Concept(item["code"], item.get("display"), item.get("definition"),
                              list(item.get("designation", [])), list(item.get("property", [])))
            self.concepts[concept.code] = concept
            for p in concept.property_values("parent"):
                concept.parents.append(str(p))
            if parent:
                concept.parents.append(parent)
                self.concepts[parent].children.append(concept.code)
            self._read(item.get("concept", []), concept.code)
        for concept in self.concepts.values():  # parents given as properties, not by nesting
            for p in concept.parents:
                if p in self.concepts and concept.code not in self.concepts[p].children:
                    self.concepts[p].children.append(concept.code)
            for c in concept.parents + concept.children:
                if c in self.concepts:
                    concept.labels[c] = self.concepts[c].display

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}" if self.version else self.url

    def locate(self, code: str):
        """(concept, True) for the code as written; (concept, False) when it differs by case in a
        case-insensitive system; (None, False) when unknown."""
        if code in self.concepts:
            return self.concepts[code], True
        if not self.case_sensitive and code.lower() in self._folded:
            return self.concepts[self._folded[code.lower()]], False
        return None, False

    def all(self):
        return iter(self.concepts.values())

    def descendants(self, code: str) -> list[str]:
        out, seen = [], set()
        todo = list(self.concepts[code].children) if code in self.concepts else []
        while todo:
            c = todo.pop()
            if c not in seen and c in self.concepts:
                seen.add(c)
                out.append(c)
                todo.extend(self.concepts[c].children)
        return out

    def get(self, code: str) -> Concept | None:
        return self.concepts.get(code)
