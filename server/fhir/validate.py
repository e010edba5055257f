"""$validate-code on a ValueSet or a CodeSystem: the verdict, the concept's details and the issues found.

Issue texts follow HL7's terminology test cases (the wording tx.fhir.org uses), so that a
client written against one terminology server reads ours the same way.
"""

from dataclasses import dataclass, field

from . import displays
from .compose import MissingValueSet, evaluate
from .outcome import issue, operation_outcome
from .registry import canonical

STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
EXPANSION_PARAMETER = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter"


@dataclass
class Coding:
    code: str | None
    system: str | None = None
    version: str | None = None
    display: str | None = None
    prefix: str = ""  # the FHIRPath of the coding in the request: "", "Coding", "CodeableConcept.coding[0]"

    def path(self, element: str | None = None) -> str:
        if not self.prefix:
            return element or "code"
        return f"{self.prefix}.{element}" if element else self.prefix


@dataclass
class Verdict:
    issues: list = field(default_factory=list)
    found: dict = field(default_factory=dict)  # code, system, version, display, inactive, normalized-code
    member: bool = False  # the coding is valid and in the value set (or code system)
    unknown_system: str | None = None
    caused_by: str | None = None  # the value set's own code system, unknown


def _status_notes(resource_kind: str, resource, canon: str) -> list:
    notes = []
    standards = resource.standards_status if resource_kind == "CodeSystem" else next(
        (e.get("valueCode") for e in resource.get("extension", []) if e.get("url") == STANDARDS_STATUS), None)
    status = resource.status if resource_kind == "CodeSystem" else resource.get("status")
    experimental = resource.experimental if resource_kind == "CodeSystem" else resource.get("experimental")
    if standards in ("deprecated", "withdrawn"):
        notes.append(f"Reference to {standards} {resource_kind} {canon}")
    if status == "retired":
        notes.append(f"Reference to retired {resource_kind} {canon}")
    if experimental:
        notes.append(f"Reference to experimental {resource_kind} {canon}")
    if status == "draft":
        notes.append(f"Reference to draft {resource_kind} {canon}")
    return [issue("information", "business-rule", text, "status-check") for text in notes]


def _check(registry, coding: Coding, evaluation, vs_canon, options, in_cc: bool) -> Verdict:
    """One coding against a value set's entries (evaluation), or against its code system alone."""
    v = Verdict()
    code, system = coding.code or "", coding.system
    v.found["code"] = code
    not_in_vs_severity, not_in_vs_type = ("information", "this-code-not-in-vs") if in_cc else ("error", "not-in-vs")

    def not_in_vs(shown_system):
        if evaluation is not None:
            v.issues.append(issue(not_in_vs_severity, "code-invalid",
                                  f"The provided code '{shown_system or ''}#{code}' was not found in the value set "
                                  f"'{vs_canon}'", not_in_vs_type, coding.path("code")))

    if not system and evaluation is not None and options.get("inferSystem"):
        systems = sorted({s for (s, c) in evaluation.entries if c == code})
        if len(systems) == 1:
            system = systems[0]
        else:
            text = f"The System URI could not be determined for the code '{code}' in the ValueSet '{vs_canon}'"
            if systems:
                text += f": value set expansion has multiple matches: [{', '.join(systems)}]"
            else:
                included = sorted({s for (s, c) in evaluation.entries})
                text += f": no code system of the value set has it ({', '.join(included) or 'none'})"
            v.issues.append(issue("error", "not-found", text, "cannot-infer", coding.path("code")))
            not_in_vs(None)
            return v
    if not system:
        v.issues.append(issue("warning", "invalid", "Coding has no system. A code with no system has no defined meaning, "
                              "and it cannot be validated. A system should be provided", "invalid-data", coding.path()))
        not_in_vs(None)
        return v
    v.found["code"], v.found["system"] = code, system
    cs = registry.codesystem(system, coding.version or options.get("systemVersion"))
    if cs is None:
        if ":" not in system:
            v.issues.append(issue("error", "invalid", "Coding.system must be an absolute reference, not a local reference",
                                  "invalid-data", coding.path("system")))
            text = f"A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
        elif registry.valueset(system) is not None:
            v.issues.append(issue("error", "invalid", f"The Coding references a value set, not a code system ('{system}')",
                                  "invalid-data", coding.path("system")))
            not_in_vs(system)
            return v
        elif evaluation is not None and system in evaluation.missing:
            # the value set's own system is unknown: that, not the code, is why it cannot be validated
            v.issues.append(issue("error", "not-found", f"A definition for CodeSystem '{system}' could not be found, "
                                  "so the code cannot be validated", "not-found", coding.path("system")))
            v.caused_by = system
            return v
        else:
            text = f"A definition for CodeSystem {system} could not be found, so the code cannot be validated"
        v.issues.append(issue("error", "not-found", text, "not-found", coding.path("system")))
        v.unknown_system = system
        not_in_vs(system)
        return v
    if cs.version:
        v.found["version"] = cs.version
    concept, exact = cs.locate(code)
    if concept is None:
        version = f" version '{cs.version}'" if cs.version else ""
        v.issues.append(issue("error", "code-invalid", f"Unknown code '{code}' in the CodeSystem '{cs.url}'{version}",
                              "invalid-code", coding.path("code")))
        not_in_vs(system)
        return v
    v.issues += _status_notes("CodeSystem", cs, cs.canonical)
    display = displays.shown(cs, concept, options.get("displayLanguage"))
    if display:
        v.found["display"] = display
    if not exact:
        v.found["normalized-code"] = concept.code
        v.issues.append(issue("information", "business-rule",
                              f"The code '{code}' differs from the correct code '{concept.code}' by case. Although the "
                              f"code system '{cs.canonical}' is case insensitive, implementers are strongly encouraged "
                              "to use the correct case anyway", "code-rule", coding.path("code")))
    if concept.inactive:
        v.found["inactive"] = True
        status = "retired and inactive" if concept.status == "retired" else "inactive"
        v.issues.append(issue("warning", "business-rule", f"The concept '{concept.code}' has a status of {status} "
                              "and its use should be reviewed", "code-comment", coding.path()))
    for note in concept.notes:
        v.issues.append(issue("warning", "business-rule", note, "code-comment", coding.path("code")))
    entry = evaluation.entries.get((cs.url, concept.code)) if evaluation is not None else True
    if entry is None:
        if concept.inactive and options.get("_inactive_dropped"):
            v.issues.append(issue("error", "business-rule", f"The concept '{concept.code}' is valid but is not active",
                                  "code-rule", coding.path("code")))
        not_in_vs(system)
    else:
        v.member = True
        if evaluation is not None and entry.deprecated:
            v.issues.append(issue("warning", "business-rule", f"The presence of the concept '{concept.code}' in the system "
                                  f"'{cs.url}' in the value set {vs_canon} is marked with a status of deprecated and its "
                                  "use should be reviewed", "code-comment", coding.path("code")))
    if coding.display is not None:
        wrong = displays.check(cs, concept, coding.display, options.get("displayLanguage"),
                               bool(options.get("lenient-display-validation")), coding.path("display"))
        if wrong:
            v.issues.append(wrong)
    return v


def _language_of(valueset: dict) -> str | None:
    """The displayLanguage a value set asks for (an expansion-parameter extension), or its own language."""
    for e in (valueset.get("compose") or {}).get("extension", []):
        if e.get("url") == EXPANSION_PARAMETER:
            parts = {x.get("url"): x for x in e.get("extension", [])}
            if parts.get("name", {}).get("valueCode") == "displayLanguage":
                return parts.get("value", {}).get("valueCode")
    return valueset.get("language")


def validate(registry, codings: list[Coding], options: dict, valueset: dict | None = None,
             codeable_concept: dict | None = None) -> dict:
    """The $validate-code answer (Parameters) for codings against a value set, or against
    their code system when `valueset` is None."""
    issues, evaluation, vs_canon = [], None, None
    if valueset is not None:
        vs_canon = canonical(valueset)
        try:
            evaluation = evaluate(registry, valueset, active_only=bool(options.get("activeOnly")))
        except MissingValueSet as err:
            return _parameters(False, {}, [issue("error", "not-found", err.text, "not-found")], None, codeable_concept)
        if not options.get("displayLanguage"):
            options = dict(options, displayLanguage=_language_of(valueset))
        options = dict(options, _inactive_dropped=bool(options.get("activeOnly"))
                       or (valueset.get("compose") or {}).get("inactive") is False)
        issues += _status_notes("ValueSet", valueset, vs_canon)
        for imported in evaluation.imported:
            issues += [i for i in _status_notes("ValueSet", imported, canonical(imported)) if i not in issues]
    in_cc = codeable_concept is not None
    verdicts = [_check(registry, c, evaluation, vs_canon, options, in_cc) for c in codings]
    if options.get("valueset-membership-only"):  # only whether each code is in the set: no code system checks
        for v in verdicts:
            v.issues = [i for i in v.issues if _tx_type(i) in ("not-in-vs", "this-code-not-in-vs")]
    for v in verdicts:
        issues += [i for i in v.issues if i not in issues]
    good = [v for v in verdicts if v.member]
    result = any(not any(i["severity"] == "error" for i in v.issues) for v in good)
    if in_cc and not good:
        where = f"the value set '{vs_canon}'" if evaluation is not None else "the code system"
        issues.insert(0, issue("error", "code-invalid", f"No valid coding was found for {where}", "not-in-vs"))
    found = (good[0] if good else verdicts[0] if len(verdicts) == 1 and not in_cc else Verdict()).found
    unknown = next((("x-unknown-system", v.unknown_system) for v in verdicts if v.unknown_system), None)
    unknown = unknown or next((("x-caused-by-unknown-system", v.caused_by) for v in verdicts if v.caused_by), None)
    return _parameters(result, found, issues, unknown, codeable_concept)


def _tx_type(i: dict) -> str | None:
    return i["details"].get("coding", [{}])[0].get("code")


def _in_message(i: dict) -> bool:
    """Errors and warnings make the message, and the note on a display valid in no language asked for."""
    if i["severity"] == "information":
        return _tx_type(i) == "invalid-display"
    return " is marked with a status of deprecated" not in i["details"]["text"]


def _parameters(result: bool, found: dict, issues: list, unknown_system, codeable_concept) -> dict:
    params = []
    for name, key in (("code", "valueCode"), ("system", "valueUri"), ("version", "valueString"),
                      ("display", "valueString"), ("inactive", "valueBoolean"), ("normalized-code", "valueCode")):
        if name in found:
            params.append({"name": name, key: found[name]})
    if codeable_concept is not None:
        params.append({"name": "codeableConcept", "valueCodeableConcept": codeable_concept})
    if issues:
        params.append({"name": "issues", "resource": operation_outcome(issues)})
    texts = sorted({i["details"]["text"] for i in issues if _in_message(i)})
    if texts:
        params.append({"name": "message", "valueString": "; ".join(texts)})
    params.append({"name": "result", "valueBoolean": result})
    if unknown_system:
        params.append({"name": unknown_system[0], "valueCanonical": unknown_system[1]})
    return {"resourceType": "Parameters", "parameter": params}
