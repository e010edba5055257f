"""What one request can see: the reference's code systems, value sets and maps, and its tx-resources.

The graph's resources are answered from the store when asked for (graph.py, sets.py); the
code systems, value sets and concept maps a request supplies as `tx-resource` live in this
object only, for that request.
"""

from .outcome import FhirError
from .systems import CodeSystem


class Registry:
    def __init__(self, graph=None, resources=()):
        self.graph = graph  # graph.GraphTerminology over the request's store, or None
        self.systems: dict[str, list[CodeSystem]] = {}
        self.valuesets: dict[str, list[dict]] = {}
        self.maps: list[dict] = []
        for resource in resources:
            self.add(resource)

    def add(self, resource: dict):
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind == "CodeSystem":
            cs = CodeSystem(resource)
            self.systems.setdefault(cs.url, []).append(cs)
        elif kind == "ValueSet":
            if resource.get("url"):
                self.valuesets.setdefault(resource["url"], []).append(resource)
        elif kind == "ConceptMap":
            self.maps.append(resource)
        else:
            raise FhirError(f"parameter 'tx-resource': a {kind or 'non-resource'} is not a CodeSystem, "
                            "ValueSet or ConceptMap", 400, "invalid")

    def codesystem(self, url: str, version: str | None = None):
        """The code system of that url (and version, when given; else the latest), or None."""
        url, _, pinned = (url or "").partition("|")
        version = version or pinned or None
        found = self.systems.get(url)
        if found:
            if version:
                return next((cs for cs in found if cs.version == version), None)
            return max(found, key=lambda cs: _version_key(cs.version))
        return self.graph.codesystem(url, version) if self.graph else None

    def valueset(self, url: str) -> dict | None:
        url, _, version = (url or "").partition("|")
        found = self.valuesets.get(url)
        if found:
            if version:
                return next((vs for vs in found if vs.get("version") == version), None)
            return max(found, key=lambda vs: _version_key(vs.get("version")))
        return self.graph.valueset(url) if self.graph else None

    def conceptmaps(self, system: str | None = None, code: str | None = None, reverse: bool = False) -> list[dict]:
        """The request's maps, then the graph's for that source code."""
        found = list(self.maps)
        if self.graph:
            found += self.graph.conceptmaps(system, code, reverse)
        return found


def _version_key(version):
    parts = []
    for piece in (version or "").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return parts


def canonical(resource: dict) -> str:
    url, version = resource.get("url", ""), resource.get("version")
    return f"{url}|{version}" if version else url
