"""Authoring the reference: payer policies imported from tables, and what changed between versions."""
