"""Paging of long answers: `offset` and `limit` of a request, checked against the result cap."""

import re

from ..errors import BadRequest


def paging(args, default_limit: int, result_cap: int) -> tuple[int, int]:
    """(offset, limit) from a request's `offset` and `limit`: whole numbers, limit from 1 to
    the result cap, offset below it."""
    numbers = {}
    for name, default, low, high in (("offset", 0, 0, result_cap - 1), ("limit", default_limit, 1, result_cap)):
        text = (args.get(name) or "").strip()
        if not text:
            numbers[name] = default
            continue
        if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
            raise BadRequest(f"parameter {name!r}: {text[:40]!r} is not a whole number from {low} to {high}")
        numbers[name] = int(text)
    return numbers["offset"], numbers["limit"]
