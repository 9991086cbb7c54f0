"""What is wrong with an uploaded users CSV: one problem per finding, all raised together
(in ``mailferry.errors.CsvValidationError``).

A problem's ``reason`` is a complete sentence that names the row (and column) itself, in
Microsoft's words where Microsoft documents them, so a list of reasons reads on its own;
``row``, ``column`` and ``code`` repeat the facts for interfaces that highlight cells or
map codes to their own words. No reason ever contains a Password value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
