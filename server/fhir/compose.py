"""A value set's compose evaluated: includes, filters, imported value sets and excludes, as entries.

Every code system is asked through the same few calls (`all`, `get`, `locate`,
`descendants`), so a tx-resource held in memory and a code system of the graph are
evaluated alike.
"""

import time
from dataclasses import dataclass, field

import regex

from .outcome import FhirError
from .registry import canonical

DEPRECATED = "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"
STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
MAX_DEPTH = 20
# A filter's regex comes from the request: the `regex` module stops a catastrophic pattern
# ((a|aa)+$ on a long code) where `re` would spin; the whole filter gets this many seconds.
REGEX_SECONDS = 2.0


@dataclass
class Entry:
    system: str
    cs: object
    concept: object
    marks: list = field(default_factory=list)  # the value set's deprecation extensions on this concept
    selection: str = "concept"  # how its include chose it: concept (listed), all, is-a (a hierarchy filter), filter

    @property
    def deprecated(self) -> bool:
        return bool(self.marks)

    @property
    def key(self):
        return self.system, self.concept.code


@dataclass
class Evaluation:
    entries: dict = field(default_factory=dict)  # (system, code) -> Entry, in order
    systems: list = field(default_factory=list)  # canonicals of the code systems used
    valuesets: list = field(default_factory=list)  # canonicals of the value sets imported
    missing: list = field(default_factory=list)  # system urls no definition was found for
    warnings: list = field(default_factory=list)  # (experimental|draft|..., canonical) of the resources used
    imported: list = field(default_factory=list)  # the value sets imported, as resources


class MissingValueSet(FhirError):
    def __init__(self, url: str):
        super().__init__(f"A definition for the value Set '{url}' could not be found", 404, "not-found", "not-found")
        self.url = url


def evaluate(registry, valueset: dict, active_only: bool = False, chain: tuple = ()) -> Evaluation:
    """The entries of a value set (before text filter and paging)."""
    here = canonical(valueset) if valueset.get("url") else "(the value set given)"
    if here in chain:
        raise FhirError(f"Circular reference: the value set {here} imports itself, via {' -> '.join(chain + (here,))}",
                        400, "processing", "vs-invalid")
    if len(chain) > MAX_DEPTH:
        raise FhirError(f"value set {here} imports value sets more than {MAX_DEPTH} deep", 400, "too-costly")
    chain = chain + (here,)
    compose = valueset.get("compose") or {}
    _check_shape(compose, here)
    out = Evaluation()
    exclude_inactive = active_only or compose.get("inactive") is False
    for i, include in enumerate(compose.get("include", [])):
        for entry in _part(registry, valueset, include, out, chain, f"ValueSet.compose.include[{i}]"):
            if exclude_inactive and entry.concept.inactive:
                continue
            out.entries.setdefault(entry.key, entry)
    for i, exclude in enumerate(compose.get("exclude", [])):
        for entry in _part(registry, valueset, exclude, Evaluation(), chain, f"ValueSet.compose.exclude[{i}]"):
            out.entries.pop(entry.key, None)
    return out


def _check_shape(compose, here: str):
    """A compose whose parts are not what FHIR says is refused, naming the part."""
    if not isinstance(compose, dict):
        raise FhirError(f"ValueSet {here}: compose should be an object", 400, "structure")
    for kind in ("include", "exclude"):
        parts = compose.get(kind, [])
        if not isinstance(parts, list):
            raise FhirError(f"ValueSet {here}: compose.{kind} should be a list", 400, "structure")
        for i, part in enumerate(parts):
            where = f"ValueSet {here}: compose.{kind}[{i}]"
            if not isinstance(part, dict):
                raise FhirError(f"{where} should be an object", 400, "structure")
            for name, item_kind in (("concept", dict), ("filter", dict), ("valueSet", str)):
                items = part.get(name, [])
                if not isinstance(items, list) or not all(isinstance(x, item_kind) for x in items):
                    raise FhirError(f"{where}.{name} should be a list of {'texts' if item_kind is str else 'objects'}",
                                    400, "structure")


def _resolve_import(registry, valueset: dict, url: str) -> dict | None:
    if url.startswith("#"):
        return next((r for r in valueset.get("contained", []) if r.get("id") == url[1:]), None)
    return registry.valueset(url)


def _part(registry, valueset: dict, part: dict, out: Evaluation, chain: tuple, where: str) -> list:
    """The entries of one include or exclude."""
    imported = None
    for url in part.get("valueSet", []):
        found = _resolve_import(registry, valueset, url)
        if found is None:
            raise MissingValueSet(url)
        sub = evaluate(registry, found, chain=chain)
        _add_all(out.systems, sub.systems)
        _add_all(out.valuesets, ([] if url.startswith("#") else [canonical(found)]) + sub.valuesets)
        _add_all(out.warnings, sub.warnings)
        if not url.startswith("#"):
            _add_all(out.imported, [found] + sub.imported)
            status = standards_status(found)
            if status in ("withdrawn", "deprecated"):
                _add_all(out.warnings, [(status, canonical(found))])
        keys = dict(sub.entries)
        imported = keys if imported is None else {k: v for k, v in imported.items() if k in keys}
    system = part.get("system")
    if not system:
        return list((imported or {}).values())
    cs = registry.codesystem(system, part.get("version"))
    if cs is None:
        if system not in out.missing:
            out.missing.append(system)
        return []
    _add_all(out.systems, [cs.canonical])
    for flag, on in (("experimental", cs.experimental), ("draft", cs.status == "draft"),
                     ("deprecated", cs.standards_status == "deprecated")):
        if on and (flag, cs.canonical) not in out.warnings:
            out.warnings.append((flag, cs.canonical))
    entries = [Entry(cs.url, cs, c, d, _selection(part)) for c, d in _select(cs, part, where)]
    if imported is not None:
        entries = [e for e in entries if e.key in imported]
    return entries


def _add_all(items: list, more):
    for item in more:
        if item not in items:
            items.append(item)


def standards_status(resource: dict) -> str | None:
    return next((e.get("valueCode") for e in resource.get("extension", []) if e.get("url") == STANDARDS_STATUS), None)


def _marks(extensions) -> list:
    """The extensions by which a value set marks one of its concepts deprecated."""
    return [e for e in extensions or () if e.get("url") == DEPRECATED
            and str(e.get("valueCode", e.get("valueBoolean"))).lower() == "true"
            or e.get("url") == STANDARDS_STATUS and e.get("valueCode") == "deprecated"]


def _selection(part: dict) -> str:
    if part.get("concept"):
        return "concept"
    ops = {f.get("op") for f in part.get("filter", [])}
    if not ops:
        return "all"
    return "is-a" if ops & {"is-a", "descendent-of", "child-of", "generalizes"} else "filter"


def _select(cs, part: dict, where: str):
    """(concept, deprecated in this value set) for the concepts one include names."""
    if part.get("concept"):
        for item in part["concept"]:
            concept = cs.get(item.get("code"))
            if concept is not None:
                yield concept, _marks(item.get("extension"))
        return
    filters = part.get("filter", [])
    for i, f in enumerate(filters):
        if f.get("value") in (None, "") or not f.get("op"):
            raise FhirError(f"The system {cs.url} filter with property = {f.get('property')}, op = {f.get('op')} "
                            "has no value", 400, "invalid", "vs-invalid", f"{where}.filter[{i}]")
    candidates = None
    for f in filters:
        chosen = _filter(cs, f)
        chosen_codes = {x.code for x in chosen}
        candidates = chosen if candidates is None else [c for c in candidates if c.code in chosen_codes]
    for concept in (cs.all() if candidates is None else candidates):
        yield concept, []


def _ancestors(cs, code: str) -> list[str]:
    out, todo = [], [code]
    while todo:
        c = todo.pop()
        concept = cs.get(c)
        if concept is not None and c not in out:
            out.append(c)
            todo.extend(concept.parents)
    return out


def _regex_filter(cs, prop: str, value: str) -> list:
    try:
        pattern = regex.compile(value)
    except regex.error as err:
        raise FhirError(f"The regex '{value}' of a filter on {cs.url} does not compile: {err}", 400, "invalid") from None
    deadline = time.monotonic() + REGEX_SECONDS

    def matches(text) -> bool:
        try:
            return text is not None and pattern.fullmatch(str(text), timeout=max(deadline - time.monotonic(), 0.001)) is not None
        except TimeoutError:
            raise FhirError(f"The regex '{value}' of a filter on {cs.url} took more than {REGEX_SECONDS:g} s: "
                            "simplify it", 422, "too-costly") from None

    if prop == "code":
        return [c for c in cs.all() if matches(c.code)]
    if prop == "display":
        return [c for c in cs.all() if matches(c.display)]
    return [c for c in cs.all() if any(matches(v) for v in c.property_values(prop))]


def _filter(cs, f: dict) -> list:
    prop, op, value = f.get("property"), f.get("op"), str(f.get("value"))
    if prop in ("concept", "code") and op in ("is-a", "descendent-of", "is-not-a", "child-of", "generalizes", "in", "not-in", "="):
        codes = [c.strip() for c in value.split(",")]
        if op == "is-a":
            chosen = [value] + cs.descendants(value) if cs.get(value) else []
        elif op == "descendent-of":
            chosen = cs.descendants(value)
        elif op == "child-of":
            chosen = list(cs.get(value).children) if cs.get(value) else []
        elif op == "generalizes":
            chosen = _ancestors(cs, value)
        elif op in ("in", "="):
            chosen = codes
        else:  # is-not-a, not-in
            excluded = set(([value] + cs.descendants(value)) if op == "is-not-a" else codes)
            return [c for c in cs.all() if c.code not in excluded]
        return [c for c in (cs.get(code) for code in chosen) if c is not None]
    if op == "regex":
        return _regex_filter(cs, prop, value)
    if op == "exists":
        want = value.lower() == "true"
        return [c for c in cs.all() if bool(c.property_values(prop)) == want]
    if op in ("=", "in", "not-in"):
        wanted = {v.strip() for v in value.split(",")} if op != "=" else {value}

        def values(c):
            if prop == "display":
                return {c.display}
            return {str(v).lower() if isinstance(v, bool) else str(v) for v in c.property_values(prop)}

        if op == "not-in":
            return [c for c in cs.all() if not values(c) & wanted]
        return [c for c in cs.all() if values(c) & wanted]
    raise FhirError(f"The filter {prop} {op} {value} on {cs.url} is not supported", 400, "not-supported")
