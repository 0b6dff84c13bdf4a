import io
import re
from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, made to answer every body with a 400 rather than a 500.

    NaN and Infinity are parsed (not refused outright) so the schema check can name the
    feature that holds them, as it does for 1e999; and nesting deeper than Python's
    decoder can follow is a parse error, not a RecursionError.

    A UTF-8 body is first read by orjson, at a fifth of the standard library's cost (5 % of
    a 1,000-row batch's web time). orjson takes only strict JSON and reads an integer beyond
    64 bits as a float: a body it refuses, or with an integer of 19 digits or more, is read again
    by the standard library, so every body parses to what it always did and every error
    reads the same.
    """

    strict = False

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        if parsers.get_encoding(parser_context or {}).lower() in _UTF_8:  # type: ignore[attr-defined]
            body = stream.read()
            if not _may_hold_long_integer(body):
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError:
                    pass
            stream = io.BytesIO(body)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


_UTF_8 = frozenset({"utf-8", "utf8"})
# An integer that may not fit in 64 bits (or digits in a string that merely look like one): the
# slow way. Digits after a decimal point or before an exponent belong to a float, which orjson
# reads as the standard library does.
_LONG_NUMBER = re.compile(rb"(?<![\d.])\d{19}(?![.eE])")
# Every ASCII digit as "0", every other byte as a space: 19 digits in a row show as 19 zeros.
_DIGITS_AS_ZEROS = bytes(ord("0") if ord("0") <= byte <= ord("9") else ord(" ") for byte in range(256))
_NINETEEN_ZEROS = b"0" * 19


def _may_hold_long_integer(body: bytes) -> bool:
    # The expression alone costs 8 ms on a 1,000-row batch, 9 % of its web time, where a
    # translation and a byte search cost 0.4 (bench/README.md); it runs only on a body with a
    # run of 19 digits somewhere.
    return _NINETEEN_ZEROS in body.translate(_DIGITS_AS_ZEROS) and _LONG_NUMBER.search(body) is not None
