"""Reading an outcomes CSV file row by row (the command and the upload page): never the whole file.

The columns are `request_id,label,source,occurred_at,reference`, named in a header row in any
order; `request_id` and `label` are required, the others may be left out or empty. Rows are
read lazily, so a file of a million rows costs the memory of one row at a time; checking and
storing them is `outcomes.services.outcomes_import`'s.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, TextIO

from reviewapp.errors import InvalidInput

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = ("request_id", "label", "source", "occurred_at", "reference")
REQUIRED_COLUMNS = ("request_id", "label")


class UnreadableFile(InvalidInput):
    """The file has no usable header row: nothing in it was read."""


@dataclass(frozen=True)
class ImportRow:
    """One row of a file: its first line's number and its values by column (stripped)."""

    line: int
    values: Mapping[str, str] = field(default_factory=dict)
    error: str = ""  # why the row could not be read at all; then `values` is empty


def text_stream(binary: IO[bytes]) -> io.TextIOWrapper:
    """A file's bytes as the text csv_rows reads.

    UTF-8, a spreadsheet's byte-order mark dropped (it is not part of the first column's name);
    bytes that are not UTF-8 are kept as lone surrogates, so csv_rows can refuse their rows by
    line and go on; newline="" is the csv module's rule.
    """
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def csv_rows(stream: TextIO) -> Iterator[ImportRow]:
    """The rows of an outcomes CSV (see text_stream), read one at a time; the header is checked
    at once, raising UnreadableFile."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("The file is empty: expected a header row naming the columns.") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise UnreadableFile(f"The header row could not be read: {error}.") from None
    columns = [name.strip().lower() for name in header]
    problem = _header_problem(columns)
    if problem:
        raise UnreadableFile(problem)
    return _rows(reader, columns)


def _header_problem(columns: list[str]) -> str:
    unknown = [name for name in columns if name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    expected = ",".join(COLUMNS)
    if unknown:
        return f"Unknown columns {', '.join(map(repr, unknown))} in the header; expected {expected}."
    if missing:
        return f"The header lacks the columns {', '.join(missing)}; expected {expected}."
    if repeated:
        return f"The header names {', '.join(repeated)} more than once."
    return ""


def _rows(reader: Reader, columns: list[str]) -> Iterator[ImportRow]:
    # csv.reader counts the lines it has read, so a row with a quoted newline counts them all.
    line_num = reader.line_num
    while True:
        line = line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            # The decoder fails on a block of the file, not a line: nothing after it can be trusted.
            reason = f"The file is not UTF-8 text after line {line_num}; the rest was not read."
            yield ImportRow(line, error=reason)
            return
        except csv.Error as error:
            line_num = reader.line_num
            yield ImportRow(line, error=f"Could not be read: {error}.")
            continue
        line_num = reader.line_num
        if not any(value.strip() for value in values):
            continue  # a blank line
        if not _is_utf8(values):
            yield ImportRow(line, error="Not UTF-8 text.")
            continue
        if len(values) != len(columns):
            yield ImportRow(line, error=f"Has {len(values)} fields; the header names {len(columns)}.")
            continue
        yield ImportRow(line, {name: value.strip() for name, value in zip(columns, values, strict=True)})


def _is_utf8(values: list[str]) -> bool:
    # text_stream decodes a byte that is not UTF-8 as a lone surrogate, which will not encode.
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
