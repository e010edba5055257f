"""A FHIR operation's input: a Parameters resource (POST) or the query string (GET), read one way.

Values are checked where they are read: a parameter that should be a whole number or a
boolean and is not is refused with its name.
"""

from .outcome import FhirError
from .systems import VALUE_KEYS

MAX_PARAMETERS = 500
MAX_TEXT = 4096


class Params:
    def __init__(self, items: list):
        if len(items) > MAX_PARAMETERS:
            raise FhirError(f"more than {MAX_PARAMETERS} parameters", 400, "too-costly")
        self.items = items  # (name, value): value a str, bool, int, or dict (a resource, Coding, CodeableConcept)

    @classmethod
    def from_query(cls, args) -> "Params":
        items = []
        for name, value in args.items(multi=True):
            if name.startswith("_"):
                continue
            if len(value) > MAX_TEXT:
                raise FhirError(f"parameter {name!r} is longer than {MAX_TEXT} characters", 400, "too-long")
            items.append((name, value))
        return cls(items)

    @classmethod
    def from_body(cls, body) -> "Params":
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise FhirError("the request body is not a FHIR Parameters resource (JSON)", 400, "structure")
        items = []
        for i, p in enumerate(body.get("parameter") or []):
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                raise FhirError(f"Parameters.parameter[{i}] has no name", 400, "structure")
            if "resource" in p:
                items.append((p["name"], p["resource"]))
                continue
            key = next((k for k in p if k.startswith("value")), None)
            if key is None:
                raise FhirError(f"parameter {p['name']!r} (Parameters.parameter[{i}]) has no value", 400, "required")
            items.append((p["name"], p[key]))
        return cls(items)

    def all(self, name: str) -> list:
        return [v for n, v in self.items if n == name]

    def get(self, name: str):
        values = self.all(name)
        return values[0] if values else None

    def text(self, name: str) -> str | None:
        value = self.get(name)
        if value is not None and not isinstance(value, str):
            raise FhirError(f"parameter {name!r} should be text", 400, "invalid")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None or isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise FhirError(f"parameter {name!r}: {value!r} is not true or false", 400, "invalid")

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        if value is None or isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit() and len(value) < 10:
            return int(value)
        raise FhirError(f"parameter {name!r}: {value!r} is not a whole number from 0", 400, "invalid")

    def resource(self, name: str, kind: str) -> dict | None:
        value = self.get(name)
        if value is not None and (not isinstance(value, dict) or value.get("resourceType") != kind):
            raise FhirError(f"parameter {name!r} should be a {kind} resource", 400, "invalid")
        return value

    def coding(self, name: str) -> dict | None:
        """A Coding given as one (POST) or as system|code (GET)."""
        value = self.get(name)
        if value is None or isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise FhirError(f"parameter {name!r} should be a Coding", 400, "invalid")
        system, bar, code = str(value).rpartition("|")
        return {"system": system, "code": code} if bar else {"code": code}


__all__ = ["Params", "VALUE_KEYS"]
