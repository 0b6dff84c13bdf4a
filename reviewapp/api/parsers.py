from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, made to answer every body with a 400 rather than a 500.

    NaN and Infinity are parsed (not refused outright) so the schema check can name the
    feature that holds them, as it does for 1e999; and nesting deeper than Python's
    decoder can follow is a parse error, not a RecursionError.
    """

    strict = False

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
