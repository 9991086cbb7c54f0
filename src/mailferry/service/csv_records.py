"""Split CSV text into records, each with the row a spreadsheet shows and the line it starts on.

Python's csv reader runs in strict mode, so a quote that is never closed or text after a
closing quote becomes a problem for that record instead of silently swallowing the rest
of the file; reading goes on with the next line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from mailferry.service.csv_problems import CsvProblem, CsvProblemCode


@dataclass(frozen=True, slots=True)
class Record:
    """One record: ``row`` counts records (header = 1), ``line`` is its first physical line."""

    row: int
    line: int
    fields: list[str]

    @property
    def where(self) -> str:
        """How reasons name the record: "Row 5", or "Row 5 (line 7 of the file)"."""
        if self.row == self.line:
            return f"Row {self.row}"
        return f"Row {self.row} (line {self.line} of the file)"

    @property
    def blank(self) -> bool:
        """Every value empty or whitespace (an empty line, or Excel's ``;;``)."""
        return not any(value.strip() for value in self.fields)


def read_records(
    text: str, delimiter: str, skipped_lines: int = 0
) -> Iterator[Record | CsvProblem]:
    """The records of ``text``; a record the reader can't parse comes as its problem.

    ``skipped_lines`` physical lines were removed before ``text`` (Excel's ``sep=`` line)
    and are added to the line numbers, not to the rows.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = 0
    while True:
        start = reader.line_num + 1 + skipped_lines
        row += 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _malformed(Record(row, start, []), str(exc))
            if "field limit" in str(exc):
                return
            continue
        yield Record(row, start, fields)


def _malformed(record: Record, error: str) -> CsvProblem:
    where = record.where
    if "field limit" in error:
        reason = (
            f"{where} has a value longer than {csv.field_size_limit():,} characters, probably "
            f"a double quote that is never closed; the rest of the file was not read."
        )
    elif "unexpected end of data" in error:
        reason = f"{where} has a quoted value whose closing double quote is missing."
    elif "expected after" in error:
        reason = (
            f"{where} has a double quote inside a quoted value or text after a closing quote; "
            f'inside quotes, write a double quote as two ("").'
        )
    else:
        reason = f"{where} can't be read as CSV: {error}."
    return CsvProblem(record.row, None, CsvProblemCode.MALFORMED_ROW, reason)
