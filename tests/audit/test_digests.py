"""Spellings that are hashed: one text per value, whatever the order it was built in."""

from audit.digests import canonical_json, sorted_json


def test_sorted_json_sorts_keys_at_every_depth_and_leaves_no_spaces():
    value = {"b": {"y": 1, "x": [2, {"d": 3, "c": 4}]}, "a": "é"}

    assert sorted_json(value) == '{"a":"é","b":{"x":[2,{"c":4,"d":3}],"y":1}}'


def test_sorted_json_writes_floats_in_their_shortest_form():
    assert sorted_json([0.1, 1e-7, 1.0, 1e20, -0.0]) == "[0.1,1e-7,1.0,1e+20,-0.0]"


def test_sorted_json_is_the_same_text_for_equal_values_built_in_another_order():
    assert sorted_json({"a": 1, "b": [1, 2]}) == sorted_json(dict(reversed({"a": 1, "b": [1, 2]}.items())))


def test_what_orjson_cannot_write_is_spelled_by_canonical_json():
    beyond_64_bits = {"b": 2**70, "a": 1}

    assert (
        sorted_json(beyond_64_bits) == canonical_json(beyond_64_bits) == '{"a":1,"b":1180591620717411303424}'
    )
