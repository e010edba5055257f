"""The claim-line check over HTTP: `POST /api/check-claim` (JSON) and the `/check-claim` form.

Both run server.claims.check_claim, which reads the store and writes nothing. The form takes
the same fields as the JSON claim, one claim line per row of its text area.
"""

import json
import re

from flask import Blueprint, current_app, jsonify, render_template, request

from ...claims import SEVERITIES, ClaimProblems, check_claim, parse_claim, summary
from ...errors import BadRequest
from ..extensions import get_store
from ...payers import payer_names

bp = Blueprint("claims", __name__)

EXAMPLE = "claim-0584T-medicare-trial.json"


@bp.post("/api/check-claim")
def api_check_claim():
    claim = request.get_json(force=True, silent=True)
    if claim is None:
        raise BadRequest("claim: expected a JSON object in the request body")
    findings = check_claim(get_store(), claim, current_app.config)  # ClaimProblems: every bad field, in one message
    return jsonify({"ok": True, "findings": findings})


def example_claim() -> dict:
    """The shipped sample claim, to start the form from."""
    from ... import config as cfg

    path = cfg.folder(current_app.config, "DATA_DIR") / "examples" / EXAMPLE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"payer": "medicare", "lines": [{"code": "0584T"}]}


def split_codes(text: str) -> list[str]:
    return [t for t in text.replace(",", " ").split() if t]


def claim_from_form(form) -> dict:
    """The JSON claim the form describes. Each row of `lines`: code, modifiers, units,
    separated by commas (modifiers by spaces), e.g. `0584T, Q0, 1`. ClaimProblems names
    every row that cannot be read, and every problem of the claim besides."""
    lines, problems = [], []
    for i, row in enumerate(r for r in form.get("lines", "").splitlines() if r.strip()):
        parts = [p.strip() for p in row.split(",")]
        if len(parts) > 3:
            problems.append((f"lines[{i}]", f"Line {i + 1}", f"write code, modifiers, units separated by commas, not {row.strip()[:60]!r}"))
            lines.append({"code": parts[0]})  # kept, so that the next rows keep their numbers
            continue
        line = {"code": parts[0], "modifiers": split_codes(parts[1]) if len(parts) > 1 else []}
        if len(parts) > 2 and parts[2]:
            if not parts[2].isdigit():
                problems.append((f"lines[{i}].units", f"Line {i + 1} units", f"{parts[2][:20]!r} is not a whole number"))
            else:
                line["units"] = int(parts[2])
        lines.append(line)
    claim = _claim_fields(form, lines)
    if problems:
        named = {p[0] for p in problems}
        try:
            parse_claim(claim)
        except ClaimProblems as err:
            problems += [p for p in err.problems if p[0] not in named and p[0].split(".")[0] not in named]
        raise ClaimProblems(sorted(problems, key=_form_order))
    return claim


FORM_ORDER = ("payer", "date_of_service", "place_of_service", "diagnoses", "clinical_trial_nct", "lines")


def _form_order(problem) -> tuple:
    """Problems in the order of the form's fields, lines by number."""
    head = problem[0].split("[", 1)[0].split(".", 1)[0]
    number = re.match(r"lines\[(\d+)\]", problem[0])
    return (FORM_ORDER.index(head) if head in FORM_ORDER else len(FORM_ORDER), int(number.group(1)) if number else -1, problem[0])


def _claim_fields(form, lines: list) -> dict:
    return {
        "payer": form.get("payer", "").strip(),
        "date_of_service": form.get("date_of_service", "").strip(),
        "place_of_service": form.get("place_of_service", "").strip(),
        "diagnoses": split_codes(form.get("diagnoses", "")),
        "clinical_trial_nct": form.get("clinical_trial_nct", "").strip() or None,
        "lines": lines,
    }


def form_values(claim: dict) -> dict:
    """The form's fields showing `claim` (the inverse of claim_from_form)."""
    rows = []
    for line in claim.get("lines") or []:
        if isinstance(line, dict):
            rows.append(", ".join([str(line.get("code", "")), " ".join(map(str, line.get("modifiers") or [])),
                                   str(line.get("units", 1))]))
    return {
        "payer": claim.get("payer") or "",
        "date_of_service": claim.get("date_of_service") or "",
        "place_of_service": claim.get("place_of_service") or "",
        "diagnoses": ", ".join(map(str, claim.get("diagnoses") or [])),
        "clinical_trial_nct": claim.get("clinical_trial_nct") or "",
        "lines": "\n".join(rows),
    }


@bp.route("/check-claim", methods=["GET", "POST"])
def check_claim_page():
    values = form_values(example_claim()) if request.method == "GET" else dict(request.form)
    findings = error = None
    problems = []
    status = 200
    if request.method == "POST":
        try:
            findings = check_claim(get_store(), claim_from_form(request.form), current_app.config)
        except ClaimProblems as err:
            problems, status = err.problems, err.status
        except BadRequest as err:
            error, status = err.message, err.status
    return render_template("claims/check.html", values=values, payers=payer_names(get_store()), findings=findings,
                           counts=summary(findings or []), severities=SEVERITIES, error=error,
                           problems=problems), status
