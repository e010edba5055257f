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

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "required": self.required,
                "default": self.default, "description": self.description}


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
    bindings: dict = field(default_factory=dict)  # param name -> terms.IRI / terms.Literal
    offset: int = 0  # of the first row, when the answer is one page of a longer one
    more: bool = False  # rows follow this page

    def records(self) -> list[dict]:
        """Rows with plain string values, unbound columns as None."""
        return [{c: plain(row.get(c)) for c in self.columns} for row in self.rows]

    def as_json(self) -> dict:
        return {"ok": True, "question": self.question.id, "columns": self.columns,
                "rows": self.records(), "truncated": self.truncated}

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        for record in self.records():
            writer.writerow(["" if record[c] is None else record[c] for c in self.columns])
        return out.getvalue()

    def as_text(self) -> str:
        records = self.records()
        widths = {c: max([len(c)] + [len(_cell(r[c])) for r in records]) for c in self.columns}
        widths = {c: min(w, 60) for c, w in widths.items()}
        lines = ["  ".join(c.ljust(widths[c]) for c in self.columns).rstrip(),
                 "  ".join("-" * widths[c] for c in self.columns)]
        for r in records:
            lines.append("  ".join(_cell(r[c])[: widths[c]].ljust(widths[c]) for c in self.columns).rstrip())
        lines.append(f"({len(records)} row{'s' if len(records) != 1 else ''}{', truncated' if self.truncated else ''})")
        return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return "" if value is None else str(value).replace("\n", " ")


def plain(term):
    """The value of a SPARQL JSON term (None when unbound)."""
    return None if term is None else term["value"]
