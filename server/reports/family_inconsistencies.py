"""Report of family_inconsistencies: a payer's positions against those on the other approaches.

A payer's positions on a code are compared with its positions on the other approaches to the
same procedure.

as_of is not a plain row filter here: it selects the positions X compared (in force) and
also the positions Y of the payer on the family code that count (in force), and a row says
"no position" exactly when no Y counts. So the report keeps, from the question's own
patterns run without as_of:

    family_inconsistencies           every row the question can give, ranked in its order
                                     (as ids of family_inconsistencies_term): per X and
                                     family code, its "no position" rows (y NULL) and, per
                                     sibling Y of another status in the same context, its
                                     "different status" rows (y = Y)
    family_inconsistencies_siblings  per (payer, family code, X's context): grp, the
                                     positions Y whose context meets it (the question's ?anyOther)
    family_inconsistencies_keys      the date keys of every X and Y (one set per policy)

An answer walks the rows in rank order and keeps a row when its X is in force and, for a
"no position" row, no sibling is, or for a "different status" row, its Y is (index look-ups).
One key set in force is enough: the question filters each solution, one per policy. Rows are
distinct by construction (each has one X side and at most one Y; the question's DISTINCT
collapses the rest during extraction).

The Y side is read from the X side's terms given as VALUES blocks (see SIBLINGS), which
cannot name blank nodes: a payer, family code, clinical context or status written as one
stops the extraction with a ValueError (the reference names them all by IRI).
"""

import json

import pyoxigraph as ox

from ..sparql.dataset import query as union_query
from ..rdf.terms import term_json
from . import TermCache, day, in_force_sql, sort_key

QUERY_SHA = "97924a9e0e63ced0"  # queries/family_inconsistencies.rq as this report reads it (reports.query_sha)

COLUMNS = ["kind", "payer", "payerName", "code", "notation", "position", "status", "statusLabel",
           "clinicalContext", "familyCode", "familyNotation", "otherPosition", "otherStatus", "otherStatusLabel",
           "source", "sourceTitle", "sourceUrl", "otherSource", "otherSourceTitle", "otherSourceUrl"]
ORDER = ["payerName", "notation", "familyNotation", "position", "otherPosition", "sourceTitle", "otherSourceTitle"]
NO_POSITION = "no position on a code of the same family"
DIFFERENT = "different status on a code of the same family"

# What a pair is: the question's X-side projection.
PAIR = ["payer", "code", "notation", "position", "status", "clinicalContext", "familyCode", "familyNotation"]
X_DETAILS = ["payerName", "statusLabel", "source", "sourceTitle", "sourceUrl"]
Y_DETAILS = ["otherPosition", "otherStatus", "otherStatusLabel", "otherSource", "otherSourceTitle", "otherSourceUrl"]

# A row's terms are kept as ids of family_inconsistencies_term (0: unbound), one column per
# question column, and decoded once per process (TermCache). Positions are numbered: x is a
# row's X, y its Y (NULL in a "no position" row), and the keys of both sides share one table
# (they come from the same expressions). grp is the (payer, family code, X's context) whose
# siblings must all be out of force for a "no position" row; undated: the row is in the
# answer when no day is given (a "different status" row, or one whose X has no sibling).
SCHEMA = f"""
CREATE TABLE family_inconsistencies_term (id INTEGER PRIMARY KEY, term TEXT NOT NULL);
CREATE TABLE family_inconsistencies (rank INTEGER PRIMARY KEY, payer_iri TEXT NOT NULL, x INTEGER NOT NULL,
    grp INTEGER NOT NULL, y INTEGER, undated INTEGER NOT NULL, {", ".join(f'"{c}" INTEGER NOT NULL' for c in COLUMNS)});
CREATE INDEX family_inconsistencies_payer ON family_inconsistencies (payer_iri, rank);
CREATE TABLE family_inconsistencies_siblings (grp INTEGER NOT NULL, y INTEGER NOT NULL, PRIMARY KEY (grp, y));
CREATE TABLE family_inconsistencies_keys (position INTEGER NOT NULL, start_key TEXT, end_key TEXT, replaced_key TEXT);
CREATE INDEX family_inconsistencies_keys_position ON family_inconsistencies_keys (position);
"""
TERMS = TermCache("family_inconsistencies_term")
SELECTED = ", ".join(f'r."{c}"' for c in COLUMNS)

PREFIXES = """PREFIX cr:     <https://w3id.org/coderef/ontology#>
PREFIX skos:   <http://www.w3.org/2004/02/skos/core#>
PREFIX dct:    <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX xsd:    <http://www.w3.org/2001/XMLSchema#>
PREFIX cov:    <https://w3id.org/coderef/id/vocab/coverage-status/>
PREFIX rel:    <https://w3id.org/coderef/id/vocab/relation-type/>
PREFIX ctx:    <https://w3id.org/coderef/id/vocab/clinical-context/>
"""

# The question's patterns, copied from queries/family_inconsistencies.rq (as_of left out).
# The pair's patterns come first in each query's one group, so that the FILTERs below see
# ?status and ?clinicalContext as the question's left-join conditions do.
PAIR_PATTERN = """
  ?code cr:relation ?relation .
  ?relation cr:relationType rel:other-approach ;
            cr:relatedCode ?familyCode .
  ?position cr:appliesTo ?code ;
            a cr:CoveragePosition ;
            cr:payer ?payer ;
            cr:coverageStatus ?status .
  FILTER(?status != cov:position-not-retrieved)
  ?code skos:notation ?notation .
  ?familyCode skos:notation ?familyNotation .
  OPTIONAL { ?position cr:clinicalContext ?clinicalContext }
"""

X_KEYS = PREFIXES + f"""SELECT DISTINCT {" ".join("?" + v for v in PAIR)} ?startKey ?endKey ?replacedKey WHERE {{
{PAIR_PATTERN}
  OPTIONAL {{ ?position cr:effectiveDate ?positionStart }}
  OPTIONAL {{ ?position cr:endDate ?positionEnd }}
  OPTIONAL {{ ?policy cr:position ?position
             OPTIONAL {{ ?policy cr:effectiveDate ?policyStart }}
             OPTIONAL {{ ?policy cr:endDate ?policyEnd }}
             OPTIONAL {{ ?policy dct:isReplacedBy ?successor . ?successor cr:effectiveDate ?successorStart }} }}
  BIND(STR(COALESCE(?positionStart, ?policyStart)) AS ?startKey)
  BIND(COALESCE(?positionEnd, ?policyEnd) AS ?end)
  BIND(IF(DATATYPE(?end) = xsd:date, STR(?end), CONCAT(STR(?end), "~")) AS ?endKey)
  BIND(STR(?successorStart) AS ?replacedKey)
}}"""

X_DETAILS_QUERY = PREFIXES + f"""SELECT DISTINCT {" ".join("?" + v for v in PAIR + X_DETAILS)} WHERE {{
{PAIR_PATTERN}
  OPTIONAL {{ ?payer schema:name ?payerName }}
  OPTIONAL {{ ?status skos:prefLabel ?statusLabel }}
  OPTIONAL {{ ?position dct:source ?source
             OPTIONAL {{ ?source dct:title ?sourceTitle }}
             OPTIONAL {{ ?source schema:url ?sourceUrl }} }}
}}"""

# The Y side starts from the pairs' terms, given as a VALUES block: joined to the pair
# pattern instead, Oxigraph reads every position of the graph first (20-30 s at 1M triples,
# against 30 ms). "a cr:CoveragePosition" is checked by FILTER EXISTS, which matches as the
# triple does (once or not at all): as a triple pattern beside the VALUES block it made
# Oxigraph read every position once per block row (170 s for 20k rows, against 1.3 s).
SIBLINGS = PREFIXES + """SELECT DISTINCT ?payer ?familyCode ?clinicalContext ?anyOther WHERE {
  VALUES (?payer ?familyCode ?clinicalContext) { %s }
  ?anyOther cr:appliesTo ?familyCode ;
            cr:payer ?payer .
  FILTER EXISTS { ?anyOther a cr:CoveragePosition }
  OPTIONAL { ?anyOther cr:clinicalContext ?anyContext }
  FILTER(!BOUND(?anyContext) || !BOUND(?clinicalContext) || ?anyContext = ?clinicalContext
         || ?anyContext = ctx:any || ?clinicalContext = ctx:any)
}"""

SIBLING_KEYS = PREFIXES + """SELECT DISTINCT ?anyOther ?anyStartKey ?anyEndKey ?anyReplacedKey WHERE {
  VALUES (?payer ?familyCode) { %s }
  ?anyOther cr:appliesTo ?familyCode ;
            cr:payer ?payer .
  FILTER EXISTS { ?anyOther a cr:CoveragePosition }
  OPTIONAL { ?anyOther cr:effectiveDate ?anyStart }
  OPTIONAL { ?anyOther cr:endDate ?anyEnd }
  OPTIONAL { ?anyPolicy cr:position ?anyOther
             OPTIONAL { ?anyPolicy cr:effectiveDate ?anyPolicyStart }
             OPTIONAL { ?anyPolicy cr:endDate ?anyPolicyEnd }
             OPTIONAL { ?anyPolicy dct:isReplacedBy ?anySuccessor . ?anySuccessor cr:effectiveDate ?anySuccessorStart } }
  BIND(STR(COALESCE(?anyStart, ?anyPolicyStart)) AS ?anyStartKey)
  BIND(COALESCE(?anyEnd, ?anyPolicyEnd) AS ?anyEndValue)
  BIND(IF(DATATYPE(?anyEndValue) = xsd:date, STR(?anyEndValue), CONCAT(STR(?anyEndValue), "~")) AS ?anyEndKey)
  BIND(STR(?anySuccessorStart) AS ?anyReplacedKey)
}"""

# Positions of another status in the same context; which of them are siblings (the
# question's ?otherPosition = ?anyOther) is joined in Python.
OTHERS = PREFIXES + """SELECT DISTINCT ?payer ?familyCode ?clinicalContext ?status
       ?otherPosition ?otherStatus ?otherStatusLabel ?otherSource ?otherSourceTitle ?otherSourceUrl WHERE {
  VALUES (?payer ?familyCode ?clinicalContext ?status) { %s }
  ?otherPosition cr:appliesTo ?familyCode ;
                 cr:payer ?payer ;
                 cr:coverageStatus ?otherStatus .
  OPTIONAL { ?otherPosition cr:clinicalContext ?otherContext }
  FILTER(?otherStatus != ?status && ?otherStatus != cov:position-not-retrieved
         && COALESCE(?otherContext, "none") = COALESCE(?clinicalContext, "none"))
  OPTIONAL { ?otherStatus skos:prefLabel ?otherStatusLabel }
  OPTIONAL { ?otherPosition dct:source ?otherSource
             OPTIONAL { ?otherSource dct:title ?otherSourceTitle }
             OPTIONAL { ?otherSource schema:url ?otherSourceUrl } }
}"""


def _nt(node) -> str:
    """A term as a VALUES block writes it (UNDEF when unbound)."""
    if node is None:
        return "UNDEF"
    if isinstance(node, ox.BlankNode):
        raise ValueError(f"family_inconsistencies: {node} is a blank node, which a VALUES block cannot name")
    return str(node)


def _values(rows) -> str:
    return " ".join(f"({' '.join(row)})" for row in sorted(rows))


def _text(value):
    return None if value is None else value.value


def extract(store, db) -> None:
    # Solutions are read by position and terms converted once each (at 1M triples, 135k
    # solutions a query: reading them by name and converting every term took 15 s).
    pairs, terms, x_of = {}, {}, {}  # X-side terms (pyoxigraph) -> pid; pid -> its terms, its X's number
    numbers = {}  # position (pyoxigraph) -> number
    group_of = {}  # pid -> (payer, familyCode, clinicalContext) and status, as VALUES writes them
    as_json = {None: None}  # pyoxigraph term -> SPARQL JSON term, shared by every row that has it
    width = len(PAIR)
    at = {v: i for i, v in enumerate(PAIR)}

    def json_of(node):
        found = as_json.get(node, as_json)
        if found is as_json:
            found = as_json[node] = term_json(node)
        return found

    def number(node) -> int:
        return numbers.setdefault(node, len(numbers))

    keys = set()
    for s in union_query(store, X_KEYS):
        row = tuple(s)
        pair = row[:width]
        pid = pairs.get(pair)
        if pid is None:
            pid = pairs[pair] = len(pairs)
            terms[pid] = {v: json_of(node) for v, node in zip(PAIR, pair)}
            x_of[pid] = number(pair[at["position"]])
            group_of[pid] = (tuple(_nt(pair[at[v]]) for v in ("payer", "familyCode", "clinicalContext")),
                             _nt(pair[at["status"]]))
        keys.add((x_of[pid], *(_text(key) for key in row[width:])))
    x_details = {}
    for s in union_query(store, X_DETAILS_QUERY):
        row = tuple(s)
        x_details.setdefault(pairs[row[:width]], []).append(
            {v: json_of(node) for v, node in zip(X_DETAILS, row[width:])})

    groups = {group for group, _ in group_of.values()}
    siblings = {}  # (payer, familyCode, clinicalContext) -> its siblings' numbers
    others = {}  # (payer, familyCode, clinicalContext, status) -> position number -> its Y-side details
    if groups:
        for s in union_query(store, SIBLINGS % _values(groups)):
            payer, family_code, context, other = tuple(s)
            siblings.setdefault((_nt(payer), _nt(family_code), _nt(context)), set()).add(number(other))
        for s in union_query(store, SIBLING_KEYS % _values({group[:2] for group in groups})):
            other, *dates = tuple(s)
            keys.add((number(other), *(_text(key) for key in dates)))
        for s in union_query(store, OTHERS % _values({(*group, status) for group, status in group_of.values()})):
            row = tuple(s)
            found = tuple(_nt(node) for node in row[:4])
            others.setdefault(found, {}).setdefault(number(row[4]), []).append(
                {v: json_of(node) for v, node in zip(Y_DETAILS, row[4:])})

    known_terms = {(): (0, sort_key(None))}  # sorted items of a term -> (its id, its sort key)
    term_rows = []  # (id, SPARQL JSON text) of each term, for family_inconsistencies_term

    def ids(value) -> tuple:
        items = tuple(sorted(value.items())) if value is not None else ()
        known = known_terms.get(items)
        if known is None:
            known = known_terms[items] = len(known_terms), sort_key(value)
            term_rows.append((known[0], json.dumps(value, sort_keys=True, separators=(",", ":"))))
        return known

    # The columns of a row come from its kind, its pair, one of its X details and (a
    # "different status" row) one of its Y details: each part's ids are found once.
    parts = {}  # id(part) -> {column: (term id, sort key)}, for parts that live to the end

    def part_ids(part: dict, columns) -> dict:
        known = parts.get(id(part))
        if known is None:
            known = parts[id(part)] = {c: ids(part.get(c)) for c in columns}
        return known

    kinds = {kind: {"kind": ids({"type": "literal", "value": kind})} for kind in (NO_POSITION, DIFFERENT)}
    no_y = {c: ids(None) for c in Y_DETAILS}
    group_ids = {group: i for i, group in enumerate(sorted(groups))}
    rows = []  # (sort key, payer, x, group, y, undated, *term ids)
    for pid, pair in terms.items():
        group, status = group_of[pid]
        found = siblings.get(group, set())
        differing = others.get((*group, status), {})
        sides = [(None, NO_POSITION, [None])]
        sides += [(y, DIFFERENT, differing[y]) for y in sorted(found & differing.keys())]
        pair_known = part_ids(pair, PAIR)
        for y, kind, y_details in sides:
            for xd in x_details[pid]:
                for yd in y_details:
                    known = {**kinds[kind], **pair_known, **part_ids(xd, X_DETAILS),
                             **(no_y if yd is None else part_ids(yd, Y_DETAILS))}
                    rows.append(([known[c][1] for c in ORDER], pair["payer"]["value"], x_of[pid],
                                 group_ids[group], y, int(y is not None or not found),
                                 *(known[c][0] for c in COLUMNS)))
    rows.sort(key=lambda r: (r[0], r[6:]))
    db.executemany("INSERT INTO family_inconsistencies_term VALUES (?, ?)", term_rows)
    db.executemany(f"INSERT INTO family_inconsistencies VALUES ({', '.join('?' * (6 + len(COLUMNS)))})",
                   ((rank, *r[1:]) for rank, r in enumerate(rows)))
    db.executemany("INSERT INTO family_inconsistencies_siblings VALUES (?, ?)",
                   ((group_ids[group], y) for group, found in siblings.items() for y in found))
    db.executemany("INSERT INTO family_inconsistencies_keys VALUES (?, ?, ?, ?)", keys)


def answer(db, bindings: dict, cap: int):
    on = day(bindings)
    payer = (bindings or {}).get("payer")
    where = ["r.payer_iri = :payer"] if payer is not None else []
    if on is None:
        where.append("r.undated")
    else:
        where.append(f"EXISTS (SELECT 1 FROM family_inconsistencies_keys AS k WHERE k.position = r.x AND {in_force_sql('k.')})")
        where.append(
            "CASE WHEN r.y IS NULL THEN NOT EXISTS (SELECT 1 FROM family_inconsistencies_siblings AS s"
            " JOIN family_inconsistencies_keys AS k ON k.position = s.y"
            f" WHERE s.grp = r.grp AND {in_force_sql('k.')})"
            " ELSE EXISTS (SELECT 1 FROM family_inconsistencies_keys AS k"
            f" WHERE k.position = r.y AND {in_force_sql('k.')}) END")
    found = db.execute(
        f"SELECT {SELECTED} FROM family_inconsistencies AS r"
        f" WHERE {' AND '.join(where)} ORDER BY r.rank LIMIT :cap",
        {"payer": None if payer is None else payer.value, "day": on, "cap": cap + 1}).fetchall()
    page = found[:cap]
    terms = TERMS.terms(db, [i for ids in page for i in ids])
    return [{c: terms[i] for c, i in zip(COLUMNS, ids) if i} for ids in page], len(found) > cap
