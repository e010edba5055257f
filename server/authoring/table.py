"""Reading a policy table: the rows of a CSV or YAML file, each problem named by row and column."""

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadRequest

# column -> required?
COLUMNS = {
    "payer": True,
    "policy_id": True,
    "title": True,
    "codes": True,
    "status": True,
    "effective_date": False,
    "last_reviewed": False,
    "criteria": False,
    "source": True,
    "confidence": True,
    "context": False,
    "source_title": False,
    "source_kind": False,
}
ALIASES = {"policy": "policy_id", "policy_number": "policy_id", "effective": "effective_date",
           "reviewed": "last_reviewed", "last_review": "last_reviewed", "source_address": "source",
           "source_url": "source", "url": "source", "code": "codes", "clinical_context": "context"}


@dataclass
class Problem:
    row: int | None  # 1-based data row; None: the file or the graph as a whole
    column: str | None
    message: str
    line: int | None = None  # line in a CSV file

    def as_dict(self) -> dict:
        return {"row": self.row, "line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line else ""))
        if self.column:
            where.append(f"column {self.column}")
        return (", ".join(where) + ": " if where else "") + self.message


def _column(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    return ALIASES.get(key, key)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(_cell(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):  # YAML reads 2021-11-01 as a date
        return value.isoformat()[:10]
    return str(value).strip()


def read_rows(path) -> tuple[list[dict], list[Problem]]:
    """Rows as {column: text, "_row": n, "_line": line}; problems with the file itself."""
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadRequest(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines(keepends=True))
        raw, lines = [], []
        for record in reader:
            raw.append(record)
            lines.append(reader.line_num)
        header = reader.fieldnames or []
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark else ""
            raise BadRequest(f"{path}{where}: not YAML: {getattr(err, 'problem', err)}") from None
        if isinstance(doc, dict) and "policies" in doc:
            doc = doc["policies"]
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise BadRequest(f"{path}: expected a list of rows (mappings), optionally under 'policies:'")
        raw, lines = doc, [None] * len(doc)
        header = sorted({k for r in doc for k in r}, key=str)
    else:
        raise BadRequest(f"{path}: unknown table type {suffix!r}; use .csv, .yaml or .yml")

    problems = []
    names = [_column(h) for h in header if h is not None]
    for original, name in zip(header, names):
        if name not in COLUMNS:
            problems.append(Problem(None, str(original), f"unknown column; the columns are {', '.join(COLUMNS)}"))
    for name, required in COLUMNS.items():
        if required and name not in names:
            problems.append(Problem(None, name, "required column missing"))
    rows = []
    for n, (record, line) in enumerate(zip(raw, lines), 1):
        row = {"_row": n, "_line": line}
        for key, value in record.items():
            if key is None:  # a CSV record with more cells than the header
                problems.append(Problem(n, None, f"{len(value)} cell(s) beyond the header", line))
                continue
            row[_column(key)] = _cell(value)
        rows.append(row)
    if not rows:
        problems.append(Problem(None, None, "no rows"))
    return rows, problems
