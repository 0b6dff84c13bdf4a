"""Spellings that are hashed: one text per value, whatever the order it was built in."""

import math
import random
import struct

from audit.digests import FEATURES_V1, canonical_json, features_v1_json, sorted_json
from predictions import training


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


# --- FEATURES_V1 by orjson: the frozen spelling of every stored prediction's features ---------


def _features_v1(value):
    return canonical_json(value, spelling=FEATURES_V1)


def test_features_v1_json_writes_floats_of_every_magnitude_as_the_standard_library_does():
    rng = random.Random(13)
    floats = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    floats += [float(f"{m}e{e}") for e in range(-320, 308) for m in (1, 1.5, 9.999999999999998)]
    floats += [0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e16, 1e15, 2.0**53, 2.0**64, 5e-324]
    floats += [math.inf, -math.inf, math.nan]

    for chunk in range(0, len(floats), 50):  # flat objects of fifty, as features come
        value = {f"f{i:02d}": number for i, number in enumerate(floats[chunk : chunk + 50])}
        assert features_v1_json(value) == _features_v1(value)
    for number in floats:
        assert features_v1_json({"x": number}) == _features_v1({"x": number}), number


def test_features_v1_json_escapes_text_as_the_standard_library_does():
    every_ascii = "".join(chr(code) for code in range(128))
    values = [every_ascii, "é", "\u2028", "😀", "plain", "", "e-", "0.0000", "null"]

    for text in values:
        assert features_v1_json({"k": text, text: 1}) == _features_v1({"k": text, text: 1}), text


def test_features_v1_json_writes_integers_booleans_nulls_and_nesting_as_the_standard_library_does():
    value = {
        "big": 2**70,
        "small": -(2**63),
        "flags": [True, False, None],
        "nested": {"b": [1, {"d": 0.25, "c": 3}], "a": 1e-7},
    }

    assert features_v1_json(value) == _features_v1(value)


def test_features_v1_json_of_demo_transactions_is_the_stored_spelling():
    rows = training.frame_to_records(training.generate_transactions(rows=500, seed=4), training.DEMO_SCHEMA)

    assert [features_v1_json(row) for row in rows] == [_features_v1(row) for row in rows]
