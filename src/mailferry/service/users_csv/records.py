"""Split CSV text into records, each with the row a spreadsheet shows and the line it starts on.

The format is the one RFC 4180 describes, read as Python's csv reader reads it in strict
mode: a double quote opens a quoted value only as the value's first character; inside,
``""`` is a double quote and separators and line breaks are text; after the closing quote
only a separator, a line break or the end of the file may follow. CR, LF and CRLF all end
a record. Empty lines are skipped but counted, as a spreadsheet counts them.

The splitter is our own rather than Python's csv reader: the reader refuses a value over
its process-wide ``field_size_limit`` (131,072 characters) with an exception that says
neither which value nor where its record ends, and then a long value and a quote never
closed look the same. Here each value is measured where it lies, so a record the splitter
can't take becomes a Malformed naming its column, and reading goes on with the next
record (after a quote never closed there is no next record: it took the rest of the file).
Memory stays bounded too: values past MAX_COLUMNS are counted, not kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from mailferry.service.users_csv.problems import CsvProblem, CsvProblemCode

#: The longest value a users CSV may hold. A value travels as a login in one IMAP command,
#: and RFC 7162 §4 asks servers to accept command lines of only 8,192 octets; twice that
#: leaves room for every real value: an address (254 octets, RFC 5321), a
#: ``Domain/Admin/User`` login name, a password (Entra ID allows 256 characters), an OAuth
#: access token in Password for XOAuth2 (Microsoft's are a few KB), a folder path. A longer
#: value is not a login but a pasted blob, a wrong file or a broken export.
MAX_VALUE_CHARS = 16_384
#: The most columns a record may have: as many as a spreadsheet holds (Excel's last column,
#: XFD, is the 16,384th). A users file has four, an export with extra columns some dozens.
MAX_COLUMNS = 16_384

_QUOTE = '"'
_EOL = re.compile(r"\r\n?|\n")
_LINE_BREAKS = re.compile(r"[\r\n]++")
#: Quote-free lines are split this many characters at a time (bounds the list of lines).
_CHUNK = 1 << 20
#: The rest of a quoted value and its closing quote. Possessive, so the regex engine keeps
#: no backtracking state: a 10 MB value costs neither time nor memory to measure.
_QUOTED_REST = re.compile(r'(?:[^"]++|"")*+"')

#: What a value "is longer than any ...", by column.
_WHAT = {
    "EmailAddress": "e-mail address",
    "UserName": "login name",
    "Password": "password or access token",
    "UserRoot": "folder path",
    "TargetUserName": "target user name",
}


class Fault(StrEnum):
    """Why a record can't be split into values."""

    UNCLOSED_QUOTE = "unclosed_quote"  # the rest of the file was taken as one value
    TEXT_AFTER_QUOTE = "text_after_quote"  # a quote inside a quoted value, or text after it
    VALUE_TOO_LONG = "value_too_long"
    TOO_MANY_COLUMNS = "too_many_columns"


def where(row: int, line: int) -> str:
    """How reasons name a record: "Row 5", or "Row 5 (line 7 of the file)"."""
    if row == line:
        return f"Row {row}"
    return f"Row {row} (line {line} of the file)"


class Record(NamedTuple):
    """One record: ``row`` counts records (header = 1), ``line`` is its first physical line.

    A NamedTuple rather than a dataclass: a 10 MB file can hold millions of records, and a
    tuple is built several times faster.
    """

    row: int
    line: int
    fields: list[str]

    @property
    def where(self) -> str:
        """How reasons name the record: "Row 5", or "Row 5 (line 7 of the file)"."""
        return where(self.row, self.line)

    @property
    def blank(self) -> bool:
        """Every value empty or whitespace (Excel's ``;;``)."""
        return not any(value.strip() for value in self.fields)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A record that can't be split; ``column`` is the 0-based index of the value at fault
    (None: the record as a whole). ``size`` is the value's length (VALUE_TOO_LONG), the
    number of columns (TOO_MANY_COLUMNS) or of lines after the opening quote's line
    (UNCLOSED_QUOTE)."""

    row: int
    line: int
    fault: Fault
    column: int | None
    size: int = 0

    def problem(self, column_name: str | None = None, *, header: bool = False) -> CsvProblem:
        """The problem as a reason; ``column_name`` as the header row names the column."""
        at = where(self.row, self.line)
        if self.column is not None:
            at += f", column {column_name or self.column + 1}"
        if self.fault is Fault.VALUE_TOO_LONG:
            what = "column name" if header else _WHAT.get(column_name or "", "value in a users CSV")
            reason = (
                f"{at}: a value of {self.size:,} characters is longer than any {what} "
                f"(limit {MAX_VALUE_CHARS:,} characters)."
            )
        elif self.fault is Fault.TOO_MANY_COLUMNS:
            reason = (
                f"{at} has {self.size:,} columns, more than the {MAX_COLUMNS:,} a spreadsheet "
                f"can hold; this is not a users CSV, or its separator is wrong."
            )
        elif self.fault is Fault.UNCLOSED_QUOTE:
            more = f" ({self.size:,} more lines)" if self.size > 1 else ""
            more = " (1 more line)" if self.size == 1 else more
            reason = (
                f"{at}: a quoted value's closing double quote is missing, so the rest of the "
                f"file{more} was taken as part of the value and not checked."
            )
        else:
            reason = (
                f"{at}: a double quote inside a quoted value, or text after its closing "
                f'quote; inside quotes, write a double quote as two ("").'
            )
        return CsvProblem(self.row, column_name, CsvProblemCode.MALFORMED_ROW, reason)


def read_records(text: str, delimiter: str, skipped_lines: int = 0) -> Iterator[Record | Malformed]:
    """The records of ``text`` split at ``delimiter``; blank ones (empty lines, and lines of
    only separators and spaces as Excel writes empty rows) are counted, not yielded.

    ``skipped_lines`` physical lines were removed before ``text`` (Excel's ``sep=`` line)
    and are added to the line numbers, not to the rows.
    """
    splitter = _Splitter(text, delimiter)
    position, row, line = 0, 0, 1 + skipped_lines
    while position < len(text):
        breaks = _LINE_BREAKS.match(text, position)
        if breaks is not None:  # empty lines
            count = _line_breaks(text, position, breaks.end())
            row, line, position = row + count, line + count, breaks.end()
            continue
        stop = splitter.plain_lines_end(position)
        if stop > position:  # whole lines without quotes: one record per line, in bulk
            lines = _EOL.split(text[position:stop])
            lines.pop()  # what follows the last line break: nothing
            for content in lines:  # the hot loop of a big file: calls inlined
                row += 1
                first = content[:1]
                if first and (
                    (first != delimiter and not first.isspace())
                    or not _is_blank(content, delimiter)
                ):
                    if len(content) <= MAX_VALUE_CHARS:  # nor can it have too many columns
                        yield Record(row, line, content.split(delimiter))
                    else:
                        yield splitter.unquoted(content, row, line)
                line += 1
            position = stop
            continue
        row += 1
        item, end = splitter.record(position, row, line)
        if isinstance(item, Malformed) or not item.blank:
            yield item
        line += _line_breaks(text, position, end)
        position = end


def _is_blank(content: str, delimiter: str) -> bool:
    """Whether a line without quotes holds only separators and whitespace."""
    return not content.replace(delimiter, "").strip()


def first_record(text: str, delimiter: str, start: int = 0) -> Record | Malformed | None:
    """The record starting at offset ``start`` (numbered as row and line 1), if any."""
    if start >= len(text):
        return None
    item, _end = _Splitter(text, delimiter).record(start, 1, 1)
    return item


def _line_breaks(text: str, start: int, end: int) -> int:
    """Physical line breaks (CRLF, CR, LF) in ``text[start:end]``."""
    crlf = text.count("\r\n", start, end)
    return text.count("\n", start, end) + text.count("\r", start, end) - crlf


class _Splitter:
    """Reads records out of ``text`` by offsets (no copy of the whole text)."""

    def __init__(self, text: str, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter
        self._quote = -1  # the first double quote at or after the last position asked about

    def plain_lines_end(self, start: int) -> int:
        """The end of the whole lines from ``start`` that hold no double quote (at most
        _CHUNK characters of them); ``start`` if the line at ``start`` has a quote."""
        text = self.text
        if self._quote < start:
            found = text.find(_QUOTE, start)
            self._quote = len(text) if found < 0 else found
        limit = min(self._quote, start + _CHUNK)
        last = max(text.rfind("\r", start, limit), text.rfind("\n", start, limit))
        if last < 0:
            return start
        if text.startswith("\r\n", last):
            return last + 2  # a CRLF split by the limit stays one line break
        return last + 1

    def record(self, start: int, row: int, line: int) -> tuple[Record | Malformed, int]:
        """The record at ``start`` and the offset after its line break."""
        line_end, next_start = self._line_end(start)
        if self.text.find(_QUOTE, start, line_end) < 0:
            return self.unquoted(self.text[start:line_end], row, line), next_start
        return self._quoted(start, line_end, row, line)

    def _line_end(self, position: int) -> tuple[int, int]:
        """Where the physical line holding ``position`` ends, and where the next begins."""
        found = _EOL.search(self.text, position)
        if found is None:
            return len(self.text), len(self.text)
        return found.start(), found.end()

    def unquoted(self, content: str, row: int, line: int) -> Record | Malformed:
        """A record without quotes (the common case), split in one step."""
        if len(content) <= MAX_VALUE_CHARS:  # then it can't have too many columns either
            return Record(row, line, content.split(self.delimiter))
        columns = content.count(self.delimiter) + 1
        if columns > MAX_COLUMNS:
            return Malformed(row, line, Fault.TOO_MANY_COLUMNS, None, columns)
        fields = content.split(self.delimiter)
        lengths = list(map(len, fields))
        longest = max(lengths)
        if longest > MAX_VALUE_CHARS:
            index = next(i for i, length in enumerate(lengths) if length > MAX_VALUE_CHARS)
            return Malformed(row, line, Fault.VALUE_TOO_LONG, index, lengths[index])
        return Record(row, line, fields)

    def _quoted(
        self, start: int, line_end: int, row: int, line: int
    ) -> tuple[Record | Malformed, int]:
        """A record with a double quote somewhere: quoted values one by one, the unquoted
        ones between them split in bulk."""
        text, delimiter = self.text, self.delimiter
        values = _Values(row, line)
        position = start
        while True:
            if text.startswith(_QUOTE, position):
                rest = _QUOTED_REST.match(text, position + 1)
                if rest is None:
                    left = _line_breaks(text, position, len(text)) - text.endswith(("\r", "\n"))
                    unclosed = Malformed(row, line, Fault.UNCLOSED_QUOTE, values.count, left)
                    return unclosed, len(text)
                value = text[position + 1 : rest.end() - 1]
                if "\n" in value or "\r" in value:
                    line_end = self._line_end(rest.end())[0]
                values.add_one(value.replace('""', _QUOTE) if _QUOTE in value else value)
                position = rest.end()
                if position < line_end and not text.startswith(delimiter, position):
                    after = Malformed(row, line, Fault.TEXT_AFTER_QUOTE, values.count - 1)
                    return after, self._line_end(position)[1]
            else:
                position = values.add_unquoted(text, position, line_end, delimiter)
            if position >= line_end:
                return values.record(), self._line_end(line_end)[1]
            position += len(delimiter)


class _Values:
    """The values of one record as they are read, at most MAX_COLUMNS of them kept."""

    def __init__(self, row: int, line: int) -> None:
        self.row, self.line = row, line
        self.fields: list[str] = []
        self.count = 0
        self.too_long: Malformed | None = None

    def add_one(self, value: str) -> None:
        if len(value) > MAX_VALUE_CHARS and self.too_long is None:
            self.too_long = Malformed(
                self.row, self.line, Fault.VALUE_TOO_LONG, self.count, len(value)
            )
        if self.count < MAX_COLUMNS:
            self.fields.append(value)
        self.count += 1

    def add(self, values: list[str]) -> None:
        if self.too_long is None and max(map(len, values)) > MAX_VALUE_CHARS:
            index = next(i for i, value in enumerate(values) if len(value) > MAX_VALUE_CHARS)
            size = len(values[index])
            self.too_long = Malformed(
                self.row, self.line, Fault.VALUE_TOO_LONG, self.count + index, size
            )
        self.fields += values[: max(0, MAX_COLUMNS - self.count)]
        self.count += len(values)

    def add_unquoted(self, text: str, position: int, line_end: int, delimiter: str) -> int:
        """The unquoted values from ``position`` up to the next one that starts with a
        quote (or the line's end); returns where they end."""
        quote = text.find(_QUOTE, position, line_end)
        last = -1 if quote < 0 else text.rfind(delimiter, position, quote)
        if quote < 0:
            end = line_end
        elif last < 0:  # the quote is inside this value, not at its start: it is text
            end = text.find(delimiter, position, line_end)
            end = line_end if end < 0 else end
        else:
            end = last  # the values before the one that starts with (or holds) the quote
        self.add(text[position:end].split(delimiter))
        return end

    def record(self) -> Record | Malformed:
        if self.too_long is not None:
            return self.too_long
        if self.count > MAX_COLUMNS:
            return Malformed(self.row, self.line, Fault.TOO_MANY_COLUMNS, None, self.count)
        return Record(self.row, self.line, self.fields)
