"""stale_policies as a report: every policy row the question can give, in its order but for ?reason.

A row of the question is a policy times its optional values (identifiers, titles, issuer,
confidence, sources, successors). The day and the age limit only decide which rows are in
force, which are stale, and the two computed columns, so the report keeps, ranked by the
ORDER BY variables after ?reason:

    stale_policies_row   each row's date keys (start, end, a successor's start: the
                         question's text keys) and review days: narrow, as answers scan it
    stale_policies_out   each row's output terms (reports.pack), read for the rows kept only

An answer reads the rows of one reason after the other, in the order of the reasons, each
in rank order up to the page's end. A review day written as a plain xsd:date (YYYY-MM-DD,
no timezone) compares with the day as text, as SQL does it. Any other review day (a
timezone, an invalid date, another datatype) is rare and has the comparison rules of XSD:
the rows holding one point at a (next day, reviewed day) pair of stale_policies_odd, which
every answer hands to Oxigraph with the question's own expressions.
"""

import datetime
import re

import pyoxigraph as ox

from . import day, in_force_sql, pack, sort_key, term, unpack
from ..sparql.dataset import query as union_query
from ..rdf.terms import to_oxigraph

QUERY_SHA = "008b5bbb3e380f8e"  # queries/stale_policies.rq as this report reads it (reports.query_sha)
COLUMNS = ["policy", "policyIdentifier", "policyTitle", "payer", "payerName", "lastReviewed", "nextReview",
           "reason", "sinceLastReview", "confidence", "source", "sourceTitle", "sourceUrl"]
ORDER = ["reason", "payerName", "policyIdentifier", "sourceTitle"]

SCHEMA = """
CREATE TABLE stale_policies_row (rank INTEGER PRIMARY KEY, start_key TEXT, end_key TEXT, replaced_key TEXT,
                                 next_day TEXT, reviewed_day TEXT, odd INTEGER);
CREATE TABLE stale_policies_out (rank INTEGER PRIMARY KEY, row BLOB NOT NULL);
CREATE TABLE stale_policies_odd (id INTEGER PRIMARY KEY, next_day TEXT, reviewed_day TEXT);
"""

PREFIXES = """
PREFIX cr:     <https://w3id.org/coderef/ontology#>
PREFIX dct:    <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX xsd:    <http://www.w3.org/2001/XMLSchema#>
"""

# The question without its parameters: the same patterns and BINDs; the two FILTERs keep
# out the rows it drops on every day (an end date or a successor's start with no text key).
ROWS = PREFIXES + """
SELECT ?policy ?policyIdentifier ?policyTitle ?payer ?payerName ?lastReviewed ?nextReview
       ?confidence ?source ?sourceTitle ?sourceUrl ?reviewedDay ?nextDay ?startKey ?endKey ?replacedKey
WHERE {
  ?policy a cr:CoveragePolicy .
  OPTIONAL { ?policy cr:lastReviewed ?lastReviewed }
  OPTIONAL { ?policy cr:nextReview ?nextReview }
  OPTIONAL { ?policy cr:endDate ?endDate }
  OPTIONAL { ?policy cr:effectiveDate ?effectiveDate }
  OPTIONAL { ?policy cr:originalEffectiveDate ?originalEffectiveDate }
  OPTIONAL { ?policy dct:isReplacedBy ?successor . ?successor cr:effectiveDate ?successorStart }
  BIND(IF(DATATYPE(?lastReviewed) = xsd:gYearMonth, xsd:date(CONCAT(STR(?lastReviewed), "-01")),
       IF(DATATYPE(?lastReviewed) = xsd:gYear, xsd:date(CONCAT(STR(?lastReviewed), "-01-01")),
          ?lastReviewed)) AS ?reviewedDay)
  BIND(IF(DATATYPE(?nextReview) = xsd:gYearMonth, xsd:date(CONCAT(STR(?nextReview), "-01")),
       IF(DATATYPE(?nextReview) = xsd:gYear, xsd:date(CONCAT(STR(?nextReview), "-01-01")),
          ?nextReview)) AS ?nextDay)
  BIND(IF(DATATYPE(?endDate) = xsd:date, STR(?endDate), CONCAT(STR(?endDate), "~")) AS ?endKey)
  BIND(STR(COALESCE(?effectiveDate, ?originalEffectiveDate)) AS ?startKey)
  BIND(STR(?successorStart) AS ?replacedKey)
  FILTER(!BOUND(?endDate) || BOUND(?endKey))
  FILTER(!BOUND(?successorStart) || BOUND(?replacedKey))
  OPTIONAL { ?policy cr:policyIdentifier ?policyIdentifier }
  OPTIONAL { ?policy dct:title ?policyTitle }
  OPTIONAL { ?policy cr:issuedBy ?payer OPTIONAL { ?payer schema:name ?payerName } }
  OPTIONAL { ?policy cr:confidence ?confidence }
  OPTIONAL { ?policy dct:source ?source
             OPTIONAL { ?source dct:title ?sourceTitle }
             OPTIONAL { ?source schema:url ?sourceUrl } }
}"""

# The question's staleness FILTER and computed columns, over the odd pairs ({pairs}) and the
# parameters ({params}), both written as SPARQL terms.
ODD = PREFIXES + """
SELECT ?pair ?reason ?sinceLastReview WHERE {
  VALUES (?as_of ?max_age_days) { (%(params)s) }
  VALUES (?pair ?nextDay ?reviewedDay) { %(pairs)s }
  FILTER((BOUND(?nextDay) && ?nextDay < ?as_of)
         || !BOUND(?reviewedDay)
         || ?reviewedDay < ?as_of - STRDT(CONCAT("P", STR(?max_age_days), "D"), xsd:dayTimeDuration))
  BIND(IF(BOUND(?nextDay) && ?nextDay < ?as_of, "next review date passed",
          IF(!BOUND(?reviewedDay), "no review date", "last review older than the limit")) AS ?reason)
  BIND(IF(BOUND(?reviewedDay), ?as_of - ?reviewedDay, ?noReviewDay) AS ?sinceLastReview)
}"""

XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
XSD_DURATION = "http://www.w3.org/2001/XMLSchema#dayTimeDuration"
NEXT_PASSED, NO_REVIEW, TOO_OLD = "next review date passed", "no review date", "last review older than the limit"
PLAIN_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Which plain rows give each reason: SQL over next_day and reviewed_day, with :day and
# :oldest (the first day not too old; '' when it is before year 1, so no plain day is older).
NOT_PASSED = "(next_day IS NULL OR next_day >= :day)"
REASONS = {NEXT_PASSED: "next_day < :day",
           NO_REVIEW: f"{NOT_PASSED} AND reviewed_day IS NULL",
           TOO_OLD: f"{NOT_PASSED} AND reviewed_day < :oldest"}


def _plain(value) -> str | None:
    """The text of a review day that is a plain xsd:date (ordered as its text), else None."""
    if value is None or value.datatype.value != XSD_DATE or not PLAIN_DAY.fullmatch(value.value):
        return None
    try:
        datetime.date.fromisoformat(value.value)
    except ValueError:
        return None
    return value.value


def extract(store, db) -> None:
    rows, odd = [], {}
    for s in union_query(store, ROWS):
        next_day, reviewed_day = s["nextDay"], s["reviewedDay"]
        plain = (_plain(next_day), _plain(reviewed_day))
        pair = None
        if (next_day is not None and plain[0] is None) or (reviewed_day is not None and plain[1] is None):
            pair = odd.setdefault(tuple(None if t is None else str(t) for t in (next_day, reviewed_day)), len(odd) + 1)
        keys = [None if s[k] is None else s[k].value for k in ("startKey", "endKey", "replacedKey")]
        terms = {c: term(s, c) for c in COLUMNS if c not in ("reason", "sinceLastReview")}
        rows.append(((*keys, *plain, pair), terms))
    rows.sort(key=lambda r: [sort_key(r[1][v]) for v in ORDER[1:]])
    db.executemany("INSERT INTO stale_policies_row VALUES (?, ?, ?, ?, ?, ?, ?)",
                   ((rank, *filters) for rank, (filters, _) in enumerate(rows)))
    db.executemany("INSERT INTO stale_policies_out VALUES (?, ?)",
                   ((rank, pack(terms)) for rank, (_, terms) in enumerate(rows)))
    db.executemany("INSERT INTO stale_policies_odd VALUES (?, ?, ?)", ((i, *p) for p, i in odd.items()))


def _odd_pairs(db, as_of, max_age_days) -> dict:
    """odd pair id -> (reason, sinceLastReview) for the stale ones, as Oxigraph reads them."""
    pairs = " ".join(f"({i} {n or 'UNDEF'} {r or 'UNDEF'})"
                     for i, n, r in db.execute("SELECT id, next_day, reviewed_day FROM stale_policies_odd"))
    if not pairs:
        return {}
    params = " ".join(str(to_oxigraph(v)) for v in (as_of, max_age_days))
    return {int(s["pair"].value): (None if s["reason"] is None else s["reason"].value, term(s, "sinceLastReview"))
            for s in ox.Store().query(ODD % {"params": params, "pairs": pairs})}


def _duration(as_of: datetime.date, reviewed: str) -> dict:
    """as_of - reviewed, written as Oxigraph writes an xsd:dayTimeDuration of whole days."""
    days = (as_of - datetime.date.fromisoformat(reviewed)).days
    text = "PT0S" if days == 0 else f"{'-' if days < 0 else ''}P{abs(days)}D"
    return {"type": "literal", "value": text, "datatype": XSD_DURATION}


def answer(db, bindings, cap):
    """as_of and max_age_days are always bound (each has a default)."""
    on = day(bindings)
    as_of = datetime.date.fromisoformat(on)
    try:
        oldest = (as_of - datetime.timedelta(days=int(bindings["max_age_days"].value))).isoformat()
    except OverflowError:
        oldest = ""
    odd = _odd_pairs(db, bindings["as_of"], bindings["max_age_days"])
    reasons = sorted({*REASONS, *(reason for reason, _ in odd.values())},
                     key=lambda r: sort_key(None if r is None else {"type": "literal", "value": r}))
    out, durations = [], {}
    for reason in reasons:
        pairs = [i for i, (r, _) in odd.items() if r == reason]
        where = [f"(odd IS NULL AND {REASONS[reason]})"] if reason in REASONS else []
        if pairs:
            where.append(f"odd IN ({','.join(map(str, pairs))})")
        found = db.execute("SELECT reviewed_day, odd, row FROM stale_policies_row JOIN stale_policies_out USING (rank)"
                           f" WHERE ({' OR '.join(where)}) AND {in_force_sql()} ORDER BY rank LIMIT :n",
                           {"day": on, "oldest": oldest, "n": cap + 1 - len(out)}).fetchall()
        for reviewed, pair, packed in found:
            row = unpack(packed)
            if reason is not None:
                row["reason"] = {"type": "literal", "value": reason}
            if pair is not None:
                since = odd[pair][1]
            elif reviewed is not None:
                if reviewed not in durations:
                    durations[reviewed] = _duration(as_of, reviewed)
                since = durations[reviewed]
            else:
                since = None  # the question's ?noReviewDay, never bound
            if since is not None:
                row["sinceLastReview"] = dict(since)
            out.append(row)
        if len(out) > cap:
            return out[:cap], True
    return out, False
