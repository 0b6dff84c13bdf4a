"""The API's JSON, read and written by orjson (reviewapp/api/): the values DRF's own parser and
renderer give, and DRF's way wherever orjson would differ."""

import datetime
import decimal
import io
import json
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ParseError

from reviewapp.api.parsers import JSONParser
from reviewapp.api.renderers import JSONRenderer

UTF_8 = {"encoding": "utf-8"}


def _drf_render(data, accepted=None):
    return renderers.JSONRenderer().render(data, accepted)


def _render(data, accepted=None):
    return JSONRenderer().render(data, accepted)


def _parse(body: bytes, context=UTF_8):
    return JSONParser().parse(io.BytesIO(body), "application/json", context)


@pytest.mark.parametrize(
    "data",
    [
        {"request_id": "order-1", "score": 0.125, "label": "fraud", "final_label": None, "ok": True},
        [{"feature": "amount", "value": 12.5, "contribution": -0.75}, {"feature": "country", "value": "fr"}],
        {"text": 'naïve ☃ "quoted" \\ tab\t', 1: "an integer key"},
        {"when": datetime.datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=datetime.UTC)},
        {
            "day": datetime.date(2026, 11, 28),
            "at": datetime.time(1, 2, 3),
            "took": datetime.timedelta(seconds=1.5),
        },
        {"amount": decimal.Decimal("12.50"), "id": uuid.UUID(int=7), "lazy": gettext_lazy("Not found.")},
        {"big": 2**70},  # beyond orjson: DRF's renderer writes it
        {"separators": "a\u2028b\u2029c"},  # valid JSON, but not JavaScript: escaped as DRF does
    ],
    ids=[
        "prediction",
        "reason codes",
        "text",
        "datetime",
        "dates and times",
        "other types",
        "big int",
        "separators",
    ],
)
def test_answers_are_the_bytes_drf_writes(data):
    assert _render(data) == _drf_render(data)


def test_floats_are_the_same_numbers_spelled_shortest():
    data = {"tiny": 1.234e-05, "small": 1e-07, "huge": 1.5e300, "plain": 0.1 + 0.2}

    rendered = _render(data)

    assert json.loads(rendered) == data
    assert rendered != _drf_render(data)  # '0.00001234' where DRF wrote '1.234e-05'


def test_pretty_printing_on_request_is_drfs():
    data = {"a": [1, 2]}
    accepted = "application/json; indent=4"

    assert (
        _render(data, accepted)
        == _drf_render(data, accepted)
        == b'{\n    "a": [\n        1,\n        2\n    ]\n}'
    )


def test_nothing_renders_as_nothing():
    assert _render(None) == b""


# "utf_8" is UTF-8 too, but not a name the parser takes the fast way: the standard library's.
STANDARD_LIBRARY = {"encoding": "utf_8"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"request_id": "order-1", "features": {"amount": 12.5, "country": "fr", "new": true}}',
        b'{"a": 1, "a": 2}',
        b'{"nan": NaN, "inf": Infinity, "overflow": 1e999}',  # the schema check names them
        b'{"id": 123456789012345678901234567890, "neg": -9223372036854775809}',  # ints, not floats
        b'{"small": 0.00012345678901234567891, "large": 12345678901234567890.5, "e": 1234567890123456789e-5}',
        b'{"text": "\\ud83d\\ude00 and \\u00e9", "lone": "\\ud800"}',
    ],
    ids=["request", "repeated key", "non-finite", "long integers", "long floats", "escapes"],
)
def test_bodies_parse_to_what_the_standard_library_gives(body):
    expected = _parse(body, STANDARD_LIBRARY)

    parsed = _parse(body)

    assert repr(parsed) == repr(expected)  # repr: NaN is not equal to itself; types show


@pytest.mark.parametrize(
    "body",
    [b'{"a": ', b'\xef\xbb\xbf{"a": 1}', b'{"a": "\xff"}', b"[" * 100_000 + b"]" * 100_000],
    ids=["truncated", "byte order mark", "not utf-8", "nested too deeply"],
)
def test_bad_bodies_fail_with_the_standard_librarys_words(body):
    with pytest.raises(ParseError) as expected:
        _parse(body, STANDARD_LIBRARY)

    with pytest.raises(ParseError) as refused:
        _parse(body)

    assert str(refused.value) == str(expected.value)
