"""Answers as facts: rows that differ only in their source become one row, sources gathered; labels beside IRIs.

A question's query returns one row per (fact, source): a component resting on two sources
comes twice. `gather` folds those rows into one per fact, in first-seen order, with every
source of the fact kept in the row's list (`Answer.sources`); the scalar source columns
keep the fact's first source, so a reader of one row per fact still finds a source there.
`label_columns` adds a label column beside each IRI column that has none (positionLabel
beside position), read from the graph, so that a spreadsheet reads in words.
"""

import pyoxigraph as ox

from ..namespaces import DCT, RDFS, SCHEMA, SKOS
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


def _labels_query(iris) -> str:
    things = " ".join(str(ox.NamedNode(i)) for i in sorted(iris))  # serialized by pyoxigraph
    properties = " ".join(str(ox.NamedNode(p)) for p in LABEL_PROPERTIES)
    return f"SELECT ?thing ?p ?label WHERE {{ VALUES ?thing {{ {things} }} VALUES ?p {{ {properties} }} ?thing ?p ?label }}"


def labels(store, iris) -> dict[str, str]:
    """IRI -> the best label the graph gives it (prefLabel, name, label, title, notation)."""
    iris = {i for i in iris if i}
    if not iris:
        return {}
    best: dict[str, tuple] = {}
    for row in store.select(_labels_query(iris), cap=len(iris) * 20).rows:
        iri, rank = row["thing"]["value"], LABEL_PROPERTIES.index(row["p"]["value"])
        text = row["label"]["value"]
        if iri not in best or (rank, text) < best[iri]:
            best[iri] = (rank, text)
    return {iri: text for iri, (_, text) in best.items()}


def label_columns(store, answer: Answer) -> Answer:
    """The answer with a `<column>Label` column after each IRI column that has no words
    beside it, filled from the graph (empty where the graph has no label)."""
    missing = unlabelled_columns(answer)
    if not missing:
        return answer
    found = labels(store, {(row.get(c) or {}).get("value") for row in answer.rows for c in missing
                           if (row.get(c) or {}).get("type") == "uri"})
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
