"""Payers: the slug and name of every payer the reference holds, for forms and per-payer pages."""

from .namespaces import CR, SCHEMA

QUERY = f"""
PREFIX cr: <{CR}>
PREFIX schema: <{SCHEMA}>
SELECT ?slug ?name WHERE {{
  ?payer a cr:Payer ; cr:payerSlug ?slug .
  OPTIONAL {{ ?payer schema:name ?name }}
}} ORDER BY LCASE(STR(COALESCE(?name, ?slug)))
"""


def payer_names(store) -> list[tuple[str, str]]:
    """(slug, name) of every payer, by name; the slug stands for a missing name."""
    return [(r["slug"]["value"], r.get("name", r["slug"])["value"]) for r in store.select(QUERY).rows]
