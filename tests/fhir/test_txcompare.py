"""The tx-ecosystem comparison finds differences (a comparison that cannot fail would pass anything)."""

import pytest

from txcompare import compare

EXPECTED = {"resourceType": "Parameters", "parameter": [
    {"name": "result", "valueBoolean": True},
    {"name": "message", "valueString": "$external:1:simple-all|5.0.0$"},
    {"$optional$": True, "name": "version", "valueString": "0.1.0"},
    {"name": "when", "valueDateTime": "$instant$"}]}
ACTUAL = {"resourceType": "Parameters", "parameter": [
    {"name": "when", "valueDateTime": "2026-12-07T10:00:00.123Z"},
    {"name": "message", "valueString": "not in the value set 'http://x/ValueSet/simple-all|5.0.0'"},
    {"name": "result", "valueBoolean": True}]}


def test_a_match_in_another_order_with_an_optional_item_left_out():
    assert compare(EXPECTED, ACTUAL) is None


@pytest.mark.parametrize(("change", "words"), [
    (lambda a: a["parameter"][2].update(valueBoolean=False), "expected True"),
    (lambda a: a["parameter"].append({"name": "extra", "valueString": "x"}), "unexpected item"),
    (lambda a: a.update(id="x"), "unexpected property id"),
    (lambda a: a["parameter"].pop(), "no actual item matches"),
    (lambda a: a["parameter"][1].update(valueString="some other text"), "no actual item matches"),
    (lambda a: a["parameter"][0].update(valueDateTime="yesterday"), "no actual item matches"),
])
def test_a_difference_is_found(change, words):
    actual = {"resourceType": "Parameters", "parameter": [dict(p) for p in ACTUAL["parameter"]]}
    change(actual)
    found = compare(EXPECTED, actual)
    assert found is not None and words in found


def test_pattern_mode_allows_more_but_not_less():
    assert compare({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}, {"b": 3}], "d": 4}, pattern=True) is None
    assert compare({"a": [{"b": 1}]}, {"a": [{"b": 2}]}, pattern=True) is not None
