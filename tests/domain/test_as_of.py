"""As-of dates (issue 5, item 5): the questions about policies and code status answer as of
a day given as `as_of=YYYY-MM-DD`: a policy not yet effective, ended, or replaced by a
version already in effect is left out, and a code not yet effective says so. Over both stores.

Facts from the fact sheet (/work/shared/reference/factsheet.txt): 0584T-0586T effective
1/1/2020; Cigna 0107, a version effective 06/15/2021 (next review 06/15/2022) modified
effective Sept 26, 2025; BCBS Minnesota IV-09-008 effective Apr 27, 2020, replaced May 30,
2022; NCD 260.3.1 effective 10/01/2004; Wellmark 07.03.01 originally effective Oct 2004.
"""

import pytest

from support.answers import column, run

ID = "https://w3id.org/coderef/id/"


def test_code_not_yet_effective(app):
    early = run(app, "code_summary", code="0584T", as_of="2019-06-01")
    assert column(early, "statusAsOf") == {"not yet effective"}
    assert column(early, "statusLabel") == {"active"}  # the recorded status is still shown
    assert column(run(app, "code_summary", code="0584T", as_of="2020-01-01"), "statusAsOf") == {"active"}
    # Without a day the status is the recorded one.
    assert column(run(app, "code_summary", code="0584T"), "statusAsOf") == {"active"}
    assert column(run(app, "code_summary", code="G0341", as_of="2004-09-30"), "statusAsOf") == {"not yet effective"}


def test_payer_coverage_as_of(app):
    slugs = lambda rows: column(rows, "payerSlug")  # noqa: E731
    every = run(app, "payer_coverage", code="0584T")
    assert {"cigna", "bcbs-mn", "medicare", "premera"} <= slugs(every)
    early = run(app, "payer_coverage", code="0584T", as_of="2021-01-01")
    # Cigna's positions take effect 2025-09-26, Premera's 2021-11-01; Medicare's NCD since 2004.
    assert "cigna" not in slugs(early) and "premera" not in slugs(early)
    assert {"medicare", "bcbs-mn"} <= slugs(early)
    # BCBS Minnesota's policy ends on 2022-05-30: in force that day, gone the next.
    assert "bcbs-mn" in slugs(run(app, "payer_coverage", code="0584T", as_of="2022-05-30"))
    assert "bcbs-mn" not in slugs(run(app, "payer_coverage", code="0584T", as_of="2022-05-31"))
    late = run(app, "payer_coverage", code="0584T", as_of="2026-01-01")
    assert {"cigna", "premera", "medicare"} <= slugs(late) and "bcbs-mn" not in slugs(late)
    assert all(r["source"] for r in late)
    assert "medicare" not in slugs(run(app, "payer_coverage", code="0584T", as_of="2004-09-30"))


def test_coverage_matrix_as_of(app):
    cigna = lambda rows: [r for r in rows if r["payerSlug"] == "cigna"]  # noqa: E731
    assert not cigna(run(app, "coverage_matrix", as_of="2021-01-01"))
    assert column(cigna(run(app, "coverage_matrix", as_of="2025-09-26")), "effectiveDate") == {"2025-09-26"}
    assert len(run(app, "coverage_matrix", as_of="2021-01-01")) < len(run(app, "coverage_matrix"))


def test_payer_policies_as_of_versions(app):
    ids = lambda **p: column(run(app, "payer_policies", payer="cigna", **p), "policyIdentifier")  # noqa: E731
    assert ids() == {"Medical Coverage Policy 0107", "MM 0107"}
    # Not yet in force: the payer still has its row (and the source describing it), no policy.
    before = run(app, "payer_policies", payer="cigna", as_of="2021-01-01")
    assert before and column(before, "policy") == set() and column(before, "source")
    assert ids(as_of="2023-01-01") == {"Medical Coverage Policy 0107"}
    # Replaced by the version effective 2025-09-26.
    assert ids(as_of="2025-09-25") == {"Medical Coverage Policy 0107"}
    assert ids(as_of="2025-09-26") == {"MM 0107"}


def test_month_only_start_counts_from_its_first_day(app):
    # Wellmark 07.03.01 is known to be originally effective in October 2004 (xsd:gYearMonth).
    wellmark = lambda day: column(run(app, "payer_policies", payer="wellmark", as_of=day), "policyIdentifier")  # noqa: E731
    assert wellmark("2004-10-01") == {"07.03.01"}
    assert wellmark("2004-09-30") == set()


def test_stale_policies_only_policies_in_force(app):
    ids = lambda day: column(run(app, "stale_policies", as_of=day), "policyIdentifier")  # noqa: E731
    assert "Medical Coverage Policy 0107" not in ids("2021-01-01")  # effective 2021-06-15
    assert "Medical Coverage Policy 0107" in ids("2023-01-01")  # next review 2022-06-15 passed
    assert "Medical Coverage Policy 0107" not in ids("2026-01-01")  # replaced 2025-09-26
    assert "MM 0107" in ids("2026-01-01")
    assert "NCD 260.3.1" not in ids("2004-01-01") and "NCD 260.3.1" in ids("2005-01-01")


def test_coverage_conflicts_as_of(app):
    medicare = lambda rows: [r for r in rows if r.get("payerName") == "Medicare"]  # noqa: E731
    assert medicare(run(app, "coverage_conflicts", as_of="2026-01-01"))
    assert not medicare(run(app, "coverage_conflicts", as_of="2000-01-01"))  # NCD from 2004-10-01


AS_OF_QUESTIONS = [
    ("payer_coverage", "code=0584T&"), ("coverage_matrix", ""), ("coverage_conflicts", ""),
    ("payer_policies", ""), ("code_summary", "code=0584T&"), ("stale_policies", ""),
    ("family_inconsistencies", ""), ("overlapping_policies", ""), ("secondary_only_positions", ""),
    ("payer_gaps", "payer=medicare&"),
]


@pytest.mark.parametrize("qid, base", AS_OF_QUESTIONS, ids=[q for q, _ in AS_OF_QUESTIONS])
@pytest.mark.parametrize("bad", ["2021-02-30", "2021-1-1", "01/01/2021", "2021-01-01\"}"])
def test_malformed_as_of_is_400_naming_it(client, qid, base, bad):
    from urllib.parse import quote

    response = client.get(f"/api/questions/{qid}?{base}as_of={quote(bad)}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400 and "'as_of'" in body["error"]


@pytest.mark.parametrize("qid", [q for q, _ in AS_OF_QUESTIONS])
def test_as_of_is_declared_as_an_optional_date(app, qid):
    param = app.extensions["coderef.questions"].get(qid).param("as_of")
    assert param is not None and param.type == "date" and not param.required
