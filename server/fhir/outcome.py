"""Errors as FHIR OperationOutcome, and the issues that validation reports.

An issue carries the tx-ecosystem issue type (not-in-vs, invalid-code, ...) in
`details.coding` and the FHIRPath of the element it is about in `expression` (and the
deprecated `location`), as HL7's terminology test cases expect.
"""

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"


class FhirError(Exception):
    """A request the service refuses: its HTTP status and the OperationOutcome issue."""

    def __init__(self, text: str, status: int = 400, code: str = "invalid", tx_type: str | None = None,
                 expression: str | None = None):
        super().__init__(text)
        self.text = text
        self.status = status
        self.code = code
        self.tx_type = tx_type
        self.expression = expression

    def outcome(self) -> dict:
        return operation_outcome([issue("error", self.code, self.text, self.tx_type, self.expression)])


def issue(severity: str, code: str, text: str, tx_type: str | None = None, expression: str | None = None) -> dict:
    out = {"severity": severity, "code": code, "details": {"text": text}}
    if tx_type:
        out["details"] = {"coding": [{"system": TX_ISSUE_TYPE, "code": tx_type}], "text": text}
    if expression:
        out["location"] = [expression]
        out["expression"] = [expression]
    return out


def operation_outcome(issues: list) -> dict:
    return {"resourceType": "OperationOutcome", "issue": issues}


def not_found(text: str) -> FhirError:
    return FhirError(text, 404, "not-found", "not-found")
