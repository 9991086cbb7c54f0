"""What is wrong with an uploaded users CSV: one problem per finding, all raised together.

A problem's ``reason`` is a complete sentence that names the row (and column) itself, in
Microsoft's words where Microsoft documents them, so a list of reasons reads on its own;
``row``, ``column`` and ``code`` repeat the facts for interfaces that highlight cells or
map codes to their own words. No reason ever contains a Password value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mailferry.errors import MailferryError

#: How many reasons the exception message lists before "... and N more".
SHOWN_IN_MESSAGE = 10


class CsvProblemCode(StrEnum):
    """Stable identifiers of the CSV rules (used by the API's error codes)."""

    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"  # no such file, a directory, no permission, no data in time
    NOT_CSV = "not_csv"  # a workbook (.xlsx/.xls/.ods) uploaded instead of CSV
    ENCODING = "encoding"
    EMPTY_FILE = "empty_file"
    NO_HEADER = "no_header"
    MISSING_COLUMN = "missing_column"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"
    UNNAMED_COLUMN = "unnamed_column"
    MALFORMED_ROW = "malformed_row"  # quoting the csv reader could not parse
    WRONG_COLUMN_COUNT = "wrong_column_count"
    INVALID_EMAIL = "invalid_email"
    DUPLICATE_EMAIL = "duplicate_email"
    EMAIL_IN_OTHER_BATCH = "email_in_other_batch"
    EMPTY_USERNAME = "empty_username"
    EMPTY_PASSWORD = "empty_password"
    INVALID_VALUE = "invalid_value"  # control characters, wildcards in UserRoot
    NO_USERS = "no_users"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_PROBLEMS = "too_many_problems"  # checking stopped; the list is not complete


@dataclass(frozen=True)
class CsvProblem:
    """One finding; ``row`` is the spreadsheet row (header = 1), None for the whole file."""

    row: int | None
    column: str | None
    code: CsvProblemCode
    reason: str

    def __str__(self) -> str:
        return self.reason


def size_limit_words(max_bytes: int) -> str:
    """A byte limit as reasons write it: "10 MB (10,485,760 bytes)"."""
    return f"{max_bytes / 2**20:g} MB ({max_bytes:,} bytes)"


def sort_problems(problems: Iterable[CsvProblem]) -> tuple[CsvProblem, ...]:
    """Whole-file problems first, then by row; the order within a row is kept."""
    return tuple(sorted(problems, key=lambda p: -1 if p.row is None else p.row))


class CsvValidationError(MailferryError):
    """The CSV was refused; ``problems`` lists every finding, not just the first."""

    def __init__(self, source_name: str, problems: Iterable[CsvProblem]) -> None:
        self.source_name = source_name
        self.problems = sort_problems(problems)
        super().__init__(_summary(source_name, self.problems))


def _summary(source_name: str, problems: tuple[CsvProblem, ...]) -> str:
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    lines = [f"{source_name} was not imported: {count} {noun}."]
    lines += [f"  {p.reason}" for p in problems[:SHOWN_IN_MESSAGE]]
    if count > SHOWN_IN_MESSAGE:
        lines.append(f"  ... and {count - SHOWN_IN_MESSAGE} more.")
    return "\n".join(lines)
