"""The answer of a SELECT on any store: columns, rows of SPARQL JSON terms, and the cap's cut."""

from dataclasses import dataclass, field


@dataclass
class Result:
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    truncated: bool = False
