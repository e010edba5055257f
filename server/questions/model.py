"""A question, its parameters and an answer, with the answer's plain, CSV and text forms."""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CoderefError


class HeaderError(CoderefError):
    """A question file whose header or query cannot be used: names the file."""

    exit_code = 2

    def __init__(self, path, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = True
    default: str | None = None
    description: str = ""
    # The query variables the value binds: the parameter's own name, but a list of codes
    # may bind two (every ordered pair of distinct codes of the list, binding.bind_list).
    binds: tuple = ()

    @property
    def variables(self) -> tuple:
        return self.binds or (self.name,)

    def as_dict(self) -> dict:
        out = {"name": self.name, "type": self.type, "required": self.required,
               "default": self.default, "description": self.description}
        if self.binds:
            out["binds"] = list(self.binds)
        return out


@dataclass(frozen=True)
class Question:
    id: str
    summary: str
    description: str
    params: tuple
    tags: tuple
    query: str
    path: Path
    columns: tuple = ()  # the projected variables, known before any answer

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def as_dict(self) -> dict:
        return {"id": self.id, "summary": self.summary, "description": self.description,
                "params": [p.as_dict() for p in self.params], "tags": list(self.tags)}


@dataclass
class Answer:
    question: Question
    columns: list
    rows: list  # dicts: column -> SPARQL JSON term
    truncated: bool = False  # the result cap cut the answer where these rows end
    bindings: dict = field(default_factory=dict)  # variable -> terms.IRI / terms.Literal, or a tuple of them (a VALUES column)
    offset: int = 0  # of the first row, when the answer is one page of a longer one
    more: bool = False  # rows follow this page
    # Per row, every source of its fact ({source column: term}), once rows are gathered
    # one per fact (facts.gather); None while the answer has one row per (fact, source).
    sources: list | None = None

    def records(self) -> list[dict]:
        """Rows with plain string values, unbound columns as None."""
        return [{c: plain(row.get(c)) for c in self.columns} for row in self.rows]

    def source_records(self) -> list[list[dict]] | None:
        """Per row, its sources with plain values; None for an answer not gathered."""
        if self.sources is None:
            return None
        return [[{c: plain(t) for c, t in source.items()} for source in row] for row in self.sources]

    def output_columns(self) -> list[str]:
        """The columns of the JSON and CSV forms: a gathered answer adds `sources`."""
        return list(self.columns) + (["sources"] if self.sources is not None else [])

    def as_json(self) -> dict:
        records, sources = self.records(), self.source_records()
        if sources is not None:
            records = [{**r, "sources": s} for r, s in zip(records, sources)]
        return {"ok": True, "question": self.question.id, "columns": self.output_columns(),
                "rows": records, "truncated": self.truncated}

    def flat_records(self) -> list[dict]:
        """Records with the sources of a gathered row in its source columns, one value per
        source joined by " | " in the same order in each column: nothing lost in a CSV."""
        records, sources = self.records(), self.source_records()
        if not sources:
            return records
        for record, row in zip(records, sources):
            for c in {c for source in row for c in source}:
                record[c] = SOURCE_SEPARATOR.join(source.get(c) or "" for source in row)
            record["sources"] = "; ".join(_source_words(source) for source in row)
        return records

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        columns = self.output_columns()
        writer.writerow(columns)
        for record in self.flat_records():
            writer.writerow(["" if record[c] is None else record[c] for c in columns])
        return out.getvalue()

    def as_text(self) -> str:
        records = self.flat_records()
        widths = {c: max([len(c)] + [len(_cell(r[c])) for r in records]) for c in self.columns}
        widths = {c: min(w, 60) for c, w in widths.items()}
        lines = ["  ".join(c.ljust(widths[c]) for c in self.columns).rstrip(),
                 "  ".join("-" * widths[c] for c in self.columns)]
        for r in records:
            lines.append("  ".join(_cell(r[c])[: widths[c]].ljust(widths[c]) for c in self.columns).rstrip())
        lines.append(f"({len(records)} row{'s' if len(records) != 1 else ''}{', truncated' if self.truncated else ''})")
        return "\n".join(lines) + "\n"


SOURCE_SEPARATOR = " | "


def _source_words(source: dict) -> str:
    """"Title (address)" of one source, for a person reading a CSV cell."""
    title = source.get("sourceTitle") or source.get("source") or ""
    url = source.get("sourceUrl")
    return f"{title} ({url})" if url else title


def _cell(value) -> str:
    return "" if value is None else str(value).replace("\n", " ")


def plain(term):
    """The value of a SPARQL JSON term (None when unbound)."""
    return None if term is None else term["value"]
