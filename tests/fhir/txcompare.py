"""HL7 tx-ecosystem comparison: an actual FHIR answer against the expected one, by its patterns.

Like the official runner (org.hl7.fhir.utilities CompareUtilities, which these rules follow):
`$optional$` items may be missing, `$optional-properties$` name properties that may be,
`$string$`, `$id$`, `$uuid$`, `$instant$`, `$date$`, `$url$`, `$token$`, `$semver$`, `$version$`
match by pattern, `$external:N[:fragments]$` by the fragments it names (no externals file is
used, so the exact wording of another server is not required), `$fragments:a|b$` by its
fragments. Array order is ignored; an unexpected property or array item is a difference,
except in pattern mode (metadata), where the expected resource lists only what must be there.
"""

import re

MODES = {"general", "version:4"}  # an R4 server in the general mode
PATTERNS = {
    "$instant$": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})",
    "$date$": r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?",
    "$uuid$": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "$id$": r"[A-Za-z0-9\-.]{1,64}",
    "$url$": r"(https?://|www\.)[-a-zA-Z0-9+&@#/%?=~_|!:.;]*[-a-zA-Z0-9+&@#/%=~_|]",
    "$token$": r"[0-9a-zA-Z_][0-9a-zA-Z_.\-]*",
    "$semver$": r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?",
    "$version$": r"4\.0\.1",
}


def optional(item, modes=MODES) -> bool:
    if not isinstance(item, dict):
        return False
    flag = item.get("$optional$")
    if flag is True:
        return True
    if isinstance(flag, str):
        if flag.startswith("!"):
            return flag[1:] not in modes
        return flag.startswith("warning:") or flag in modes
    return False


def _string(expected: str, actual: str) -> bool:
    if not (expected.startswith("$") and expected.endswith("$") and len(expected) > 1):
        return expected == actual
    if expected == "$$":
        return True
    if expected == "$string$":
        return actual == actual.strip()
    if expected.startswith("$fragments:") or expected.startswith("$external:"):
        cmd = expected[1:-1].split(":", 2)
        fragments = cmd[1].split("|") if cmd[0] == "fragments" else (cmd[2].split("|") if len(cmd) > 2 else [])
        return all(f.lower() in actual.lower() for f in fragments)
    if expected.startswith("$choice:"):
        return actual in expected[8:-1].split("|")
    if expected in PATTERNS:
        return re.fullmatch(PATTERNS[expected], actual) is not None
    raise ValueError(f"unhandled template {expected}")


def compare(expected, actual, path: str = "", pattern: bool = False) -> str | None:
    """None when `actual` matches `expected`, else where and how they differ."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        optionals = set(expected.get("$optional-properties$", []))
        for name, value in actual.items():
            if name in expected:
                found = compare(expected[name], value, f"{path}.{name}", pattern)
                if found:
                    return found
            elif not pattern:
                return f"{path}: unexpected property {name} = {str(value)[:200]}"
        for name, value in expected.items():
            if name.startswith("$") or name in optionals or name in actual:
                continue
            if isinstance(value, list) and all(optional(v) for v in value):
                continue
            return f"{path}: missing property {name}"
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected an array, got {actual!r}"
        return _array(expected, actual, path, pattern)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if expected is actual else f"{path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, str) and isinstance(actual, str):
        return None if _string(expected, actual) else f"{path}: expected {expected!r}, got {actual!r}"
    return None if expected == actual else f"{path}: expected {expected!r}, got {actual!r}"


def _array(expected: list, actual: list, path: str, pattern: bool) -> str | None:
    """Every required expected item matches a distinct actual item, in any order."""
    remaining = list(range(len(actual)))
    for i, item in enumerate(expected):
        match = next((j for j in remaining if compare(item, actual[j], f"{path}[{i}]", pattern) is None), None)
        if match is not None:
            remaining.remove(match)
        elif not optional(item):
            near = [compare(item, actual[j], f"{path}[{i}]", pattern) for j in remaining[:3]]
            return f"{path}[{i}]: no actual item matches {str(item)[:300]} ({'; '.join(near) or 'none left'})"
    if remaining and not pattern:
        return f"{path}: unexpected item {str(actual[remaining[0]])[:300]}"
    return None
