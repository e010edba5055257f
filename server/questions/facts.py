"""Answers as facts: rows that differ only in their source become one row, sources gathered; labels beside IRIs.

A question's query returns one row per (fact, source): a component resting on two sources
comes twice. `gather` folds those rows into one per fact, in first-seen order, with every
source of the fact kept in the row's list (`Answer.sources`); the scalar source columns
keep the fact's first source, so a reader of one row per fact still finds a source there.
`label_columns` adds a label column beside each IRI column that has none (positionLabel
beside position), read from the graph, so that a spreadsheet reads in words.
"""

from ..namespaces import DCT, RDFS, SCHEMA, SKOS
from ..rdf.terms import IRI
from .model import Answer

# The columns that describe the source of a row rather than the fact; `source` must be one.
SOURCE_COLUMNS = ("source", "sourceTitle", "sourceUrl", "publisher", "sourceDate", "sourceKind")
# Columns that already say in words what an IRI column holds (codeLabel, payerName, ...).
COMPANION_SUFFIXES = ("Label", "Name", "Title", "Notation", "Identifier")
# Label properties, most preferred first.
LABEL_PROPERTIES = (SKOS + "prefLabel", SCHEMA + "name", RDFS + "label", DCT + "title", SKOS + "notation")


def source_columns(columns) -> list[str]:
    """The source columns of an answer's columns: none unless it has `source`."""
    return [c for c in columns if c in SOURCE_COLUMNS] if "source" in columns else []


def _key(term):
    return None if term is None else (term["type"], term["value"], term.get("datatype"), term.get("xml:lang"))


def gather(answer: Answer) -> Answer:
    """The answer with one row per fact and `sources` (a list per row of source-column
    terms), in the order each fact first appears; unchanged when it has no source column."""
    kept = source_columns(answer.columns)
    if not kept or answer.sources is not None:
        return answer
    fact_columns = [c for c in answer.columns if c not in kept]
    facts: dict = {}
    for row in answer.rows:
        key = tuple(_key(row.get(c)) for c in fact_columns)
        if key not in facts:
            facts[key] = (row, [])
        source = {c: row[c] for c in kept if row.get(c) is not None}
        if source and source not in facts[key][1]:
            facts[key][1].append(source)
    return Answer(answer.question, list(answer.columns), [row for row, _ in facts.values()], answer.truncated,
                  answer.bindings, answer.offset, answer.more, sources=[sources for _, sources in facts.values()])


def _has_companion(column: str, columns) -> bool:
    stems = {column, column.removesuffix("Code")} if column != "code" else {"code", ""}
    names = {s + suffix for s in stems for suffix in COMPANION_SUFFIXES}
    names |= {s[:1].lower() + s[1:] for s in names if s}  # "" + "Notation" -> "notation"
    return bool(names & set(columns))


def unlabelled_columns(answer: Answer) -> list[str]:
    """IRI columns (outside the source columns) with no column saying them in words."""
    skip = set(source_columns(answer.columns))
    return [c for c in answer.columns
            if c not in skip and any((row.get(c) or {}).get("type") == "uri" for row in answer.rows)
            and not _has_companion(c, answer.columns) and c + "Label" not in answer.columns]


LABEL_QUERY = ("SELECT ?p ?label WHERE { ?thing ?p ?label . VALUES ?p { "
               + " ".join(f"<{p}>" for p in LABEL_PROPERTIES) + " } }")
# Distinct IRIs of a column tried before a column whose first ones have no label is given up
# (statement IRIs, say): one small query an IRI, the IRI bound by value.
PROBE = 3


def label_of(store, iri: str) -> str | None:
    """The best label the graph gives an IRI (prefLabel, name, label, title, notation), or None."""
    best = None
    for row in store.select(LABEL_QUERY, bindings={"thing": IRI(iri)}, cap=50).rows:
        key = (LABEL_PROPERTIES.index(row["p"]["value"]), row["label"]["value"])
        best = key if best is None or key < best else best
    return best[1] if best else None


def labels(store, answer: Answer, column: str) -> dict[str, str]:
    """IRI -> label for the IRIs of one column; {} when its first PROBE IRIs have none."""
    found, tried = {}, 0
    for iri in dict.fromkeys((row.get(column) or {}).get("value") for row in answer.rows
                             if (row.get(column) or {}).get("type") == "uri"):
        label = label_of(store, iri)
        tried += 1
        if label is not None:
            found[iri] = label
        elif not found and tried >= PROBE:
            break
    return found


def label_columns(store, answer: Answer) -> Answer:
    """The answer with a `<column>Label` column after each IRI column that has no words
    beside it, filled from the graph (empty where the graph has no label)."""
    missing = unlabelled_columns(answer)
    found = {}
    for column in missing:
        found.update(labels(store, answer, column))
    # A column the graph has no word for in any row only widens the table.
    missing = [c for c in missing if any((row.get(c) or {}).get("value") in found for row in answer.rows)]
    if not missing:
        return answer
    columns = []
    for c in answer.columns:
        columns.append(c)
        if c in missing:
            columns.append(c + "Label")
    rows = []
    for row in answer.rows:
        extra = {c + "Label": {"type": "literal", "value": found[row[c]["value"]]}
                 for c in missing if row.get(c) and row[c]["value"] in found}
        rows.append({**row, **extra} if extra else row)
    return Answer(answer.question, columns, rows, answer.truncated, answer.bindings, answer.offset, answer.more,
                  sources=answer.sources)


def facts(store, answer: Answer) -> Answer:
    """One row per fact with its sources, and words beside every IRI: the answer people read."""
    return label_columns(store, gather(answer))
