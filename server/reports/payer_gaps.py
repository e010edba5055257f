"""payer_gaps as a report: the rows of every gap any payer could have, in the question's order.

A row of the question is a code on which another payer holds a position (in force on the
day) while the payer asked about holds none, times the code's details and the other payer's
name. What depends on the parameters is only which (code, other payer) pairs are gaps, so
the report keeps:

    payer_gaps_pos    every position as (code, payer, date keys): the question's subquery
    payer_gaps_row    every (code, other payer, details) row the question can give, ranked
                      in its ORDER BY order, as the ids of its terms (payer_gaps_term; 0: unbound)

and an answer walks payer_gaps_row in rank order, keeping a row when its payer is not the
one asked about, some position of its payer on the code is in force, and none of the asked
payer's is (two index look-ups), up to the page's end.
"""

import json

from ..sparql.dataset import query as union_query
from ..rdf.terms import term_json
from . import TermCache, day, in_force_sql, sort_key

QUERY_SHA = "76d28d8c4553fd72"  # queries/payer_gaps.rq as this report reads it (reports.query_sha)
COLUMNS = ["code", "notation", "label", "otherPayer", "otherPayerName", "source", "sourceTitle", "sourceUrl"]
ORDER = ["notation", "otherPayerName", "sourceTitle"]

SCHEMA = """
CREATE TABLE payer_gaps_term (id INTEGER PRIMARY KEY, term TEXT UNIQUE NOT NULL, is_payer INTEGER NOT NULL);
CREATE TABLE payer_gaps_pos (code INTEGER NOT NULL, payer INTEGER NOT NULL,
                             start_key TEXT, end_key TEXT, replaced_key TEXT);
CREATE TABLE payer_gaps_row (rank INTEGER PRIMARY KEY, code INTEGER NOT NULL, notation INTEGER, label INTEGER,
                             payer INTEGER NOT NULL, payer_name INTEGER, source INTEGER, source_title INTEGER,
                             source_url INTEGER);
"""
INDEXES = "CREATE INDEX payer_gaps_pos_code ON payer_gaps_pos (code, payer);"

PREFIXES = """
PREFIX cr:     <https://w3id.org/coderef/ontology#>
PREFIX skos:   <http://www.w3.org/2004/02/skos/core#>
PREFIX dct:    <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX xsd:    <http://www.w3.org/2001/XMLSchema#>
"""

# The question's subquery of positions, as it reads them (the same date keys).
POSITIONS = PREFIXES + """
SELECT ?otherPayer ?code ?otherStartKey ?otherEndKey ?otherReplacedKey WHERE {
  { SELECT ?otherPosition ?otherPayer WHERE { ?otherPosition cr:payer ?otherPayer } }
  { SELECT ?otherPosition WHERE { ?otherPosition a cr:CoveragePosition } }
  { SELECT ?otherPosition ?code WHERE { ?otherPosition cr:appliesTo ?code } }
  OPTIONAL { SELECT ?otherPosition ?otherStart WHERE { ?otherPosition cr:effectiveDate ?otherStart } }
  OPTIONAL { SELECT ?otherPosition ?otherEnd WHERE { ?otherPosition cr:endDate ?otherEnd } }
  OPTIONAL { SELECT ?otherPosition ?otherPolicyStart ?otherPolicyEnd ?otherSuccessorStart WHERE {
               ?otherPolicy cr:position ?otherPosition
               OPTIONAL { ?otherPolicy cr:effectiveDate ?otherPolicyStart }
               OPTIONAL { ?otherPolicy cr:endDate ?otherPolicyEnd }
               OPTIONAL { ?otherPolicy dct:isReplacedBy ?otherSuccessor . ?otherSuccessor cr:effectiveDate ?otherSuccessorStart } } }
  BIND(STR(COALESCE(?otherStart, ?otherPolicyStart)) AS ?otherStartKey)
  BIND(COALESCE(?otherEnd, ?otherPolicyEnd) AS ?otherEndValue)
  BIND(IF(DATATYPE(?otherEndValue) = xsd:date, STR(?otherEndValue), CONCAT(STR(?otherEndValue), "~")) AS ?otherEndKey)
  BIND(STR(?otherSuccessorStart) AS ?otherReplacedKey)
}"""

# The question's details of a code and of a payer.
DETAILS = PREFIXES + """
SELECT ?code ?notation ?label ?source ?sourceTitle ?sourceUrl WHERE {
  { SELECT ?code ?notation WHERE { ?code a cr:ProcedureCode ; skos:notation ?notation } }
  OPTIONAL { SELECT ?code ?label WHERE { ?code a cr:ProcedureCode ; skos:prefLabel ?label } }
  OPTIONAL { SELECT ?code ?source ?sourceTitle ?sourceUrl WHERE {
               ?code a cr:ProcedureCode ; dct:source ?source
               OPTIONAL { ?source dct:title ?sourceTitle }
               OPTIONAL { ?source schema:url ?sourceUrl } } }
}"""
NAMES = PREFIXES + "SELECT ?otherPayer ?otherPayerName WHERE { ?otherPayer a cr:Payer ; schema:name ?otherPayerName }"
PAYERS = PREFIXES + "SELECT ?payer WHERE { ?payer a cr:Payer }"


TERMS = TermCache("payer_gaps_term")


def _key(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def extract(store, db) -> None:
    ids = {}  # pyoxigraph term -> id (0: unbound); JSON made once per term, at the end
    payers = {s["payer"] for s in union_query(store, PAYERS)}

    def ident(value) -> int:
        if value is None:
            return 0
        found = ids.get(value)
        if found is None:
            found = ids[value] = len(ids) + 1
        return found

    positions = set()
    for s in union_query(store, POSITIONS):
        positions.add((ident(s["code"]), ident(s["otherPayer"]),
                       *(s[k].value if s[k] is not None else None
                         for k in ("otherStartKey", "otherEndKey", "otherReplacedKey"))))
    details = {}  # code id -> its detail rows: ids of code, notation, label, source, sourceTitle, sourceUrl
    for s in union_query(store, DETAILS):
        detail = tuple(ident(s[k]) for k in ("code", "notation", "label", "source", "sourceTitle", "sourceUrl"))
        details.setdefault(detail[0], []).append(detail)
    names = {}
    for s in union_query(store, NAMES):
        names.setdefault(ident(s["otherPayer"]), []).append(ident(s["otherPayerName"]))
    by_id = {i: term_json(t) for t, i in ids.items()}
    by_id[0] = None

    rows = set()  # DISTINCT: (code, notation, label, otherPayer, otherPayerName, source, sourceTitle, sourceUrl)
    for code, payer in {(p[0], p[1]) for p in positions}:
        for c, notation, label, source, title, url in details.get(code, ()):
            # a code that is no cr:ProcedureCode with a notation has no details: no rows
            for name in names.get(payer, [0]):
                rows.add((c, notation, label, payer, name, source, title, url))
    where = {v: i for i, v in enumerate(COLUMNS)}
    ranked = sorted(rows, key=lambda r: ([sort_key(by_id[r[where[v]]]) for v in ORDER], r))
    db.executemany("INSERT INTO payer_gaps_term VALUES (?, ?, ?)",
                   ((i, _key(by_id[i]), t in payers) for t, i in ids.items()))
    db.executemany("INSERT INTO payer_gaps_pos VALUES (?, ?, ?, ?, ?)", sorted(positions, key=lambda p: (p[0], p[1])))
    db.executemany("INSERT INTO payer_gaps_row VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   ((rank, *r) for rank, r in enumerate(ranked)))
    db.executescript(INDEXES)


# with no day, every position counts
IN_FORCE = "(:day IS NULL OR ({}))"

PAGE = f"""
SELECT r.code, r.notation, r.label, r.payer, r.payer_name, r.source, r.source_title, r.source_url
FROM payer_gaps_row r
WHERE r.payer != :payer
  AND EXISTS (SELECT 1 FROM payer_gaps_pos o WHERE o.code = r.code AND o.payer = r.payer AND {IN_FORCE.format(in_force_sql("o."))})
  AND NOT EXISTS (SELECT 1 FROM payer_gaps_pos s WHERE s.code = r.code AND s.payer = :payer AND {IN_FORCE.format(in_force_sql("s."))})
ORDER BY r.rank LIMIT :limit
"""


def answer(db, bindings: dict, cap: int) -> tuple[list, bool]:
    payer = bindings["payer"]
    found = db.execute("SELECT id FROM payer_gaps_term WHERE term = ? AND is_payer",
                       (_key({"type": "uri", "value": payer.value}),)).fetchone()
    if found is None:  # `?payer a cr:Payer` fails: no rows
        return [], False
    page = db.execute(PAGE, {"payer": found[0], "day": day(bindings), "limit": cap + 1}).fetchall()
    terms = TERMS.terms(db, [i for ids in page[:cap] for i in ids])
    rows = [{c: terms[i] for c, i in zip(COLUMNS, ids) if i} for ids in page[:cap]]
    return rows, len(page) > cap
