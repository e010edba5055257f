"""Helpers of the reload tests: a probe fact, the known violation, an edit, a wait for the reload."""

import time

ASK_EXTRA = "ASK { <https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'reload probe' }"
EXTRA = "<https://w3id.org/coderef/id/cpt/0584T> <http://www.w3.org/2000/01/rdf-schema#comment> 'reload probe' .\n"


def settle(app, seconds=0.15):
    """Wait past the reload interval, then make one request (which runs the check)."""
    time.sleep(seconds)
    with app.app_context():
        from server.web.extensions import get_store

        return get_store()


# test_validate_cli's known violation: Cigna's 2021 policy made to end before it starts.
NEXT_REVIEW = 'cr:nextReview "2022-06-15"^^xsd:date ;'
END_BEFORE_START = NEXT_REVIEW + '\n    cr:endDate "2020-01-01"^^xsd:date ;'
# A synthetic past sunset date: the shapes give a warning for it, never a violation.


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: expected one {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def assert_names_the_violation(reason):
    assert reason and "does not conform" in reason, reason
    assert "DateOrderShape" in reason and "data/policies-commercial.ttl" in reason, reason
    assert "<https://w3id.org/coderef/id/policy/cigna/mcp-0107-2021>" in reason, reason
    assert "ends on 2020-01-01, before its effective date 2021-06-15" in reason, reason
    assert "coderef validate" in reason, reason
