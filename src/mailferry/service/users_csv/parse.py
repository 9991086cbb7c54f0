"""Import the users of a migration batch from CSV (SPEC §1.4): bytes in, rows or every problem out.

The file is ``EmailAddress,UserName,Password[,UserRoot]`` as Microsoft documents it for
IMAP migration batches (plus our optional ``TargetUserName``: the name the target knows
the mailbox by, overriding ``--target-user-format`` for that row), read the way
spreadsheets write it: UTF-8 with or without BOM, UTF-16 ("Unicode text",
tab-separated), Windows-1252; ``,``, ``;`` or tab as separator
(chosen from the header row, or from Excel's ``sep=;`` first line); quoted values with
separators, doubled quotes and line breaks; CRLF; blank rows anywhere.

Choices where Microsoft is silent:

- Row numbers are the rows a spreadsheet shows: the header is row 1, and every record
  counts, blank ones included. When a record starts on another physical line of the file
  (a ``sep=`` line, or a quoted value holding a line break above it) the reason adds
  "(line N of the file)".
- Column names are matched ignoring case and surrounding spaces; ``Email Address`` is
  still unknown (Microsoft: single words), with a "did you mean" hint.
- Rows whose every value is blank (Excel writes ``;;`` for an empty row) are ignored.
  Columns without a name are ignored while they hold no values (Excel's trailing
  separators after a stray cell).
- ``EmailAddress`` and ``UserName`` lose surrounding whitespace (a pasted cell's stray
  space is never part of a login); ``Password`` is kept byte for byte, leading and trailing
  spaces included, because a password may contain them and trimming would make logins
  fail for no visible reason (a Password of only spaces counts as empty). UserName and
  Password may hold anything an IMAP login can carry, tabs too, but not NUL or line breaks.
  Addresses are compared ignoring case.
- A value over MAX_VALUE_CHARS (16,384) characters or a row of more than MAX_COLUMNS
  (16,384) columns is a problem of its row, not a crash (csv_records says why those limits).
  A file is read from a path with csv_file.read_csv_file, which reads at most
  ``max_bytes + 1`` bytes, so a device or an endless pipe is refused too.
- Over ``max_bytes`` is refused before decoding. Past ``max_rows`` every row is still
  checked, so one upload lists everything to fix; but after MAX_PROBLEMS problems checking
  stops (rows are still counted) and a last problem says so, since a wrong file (a
  different export, a shifted column) would otherwise yield millions of lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mailferry.errors import CsvValidationError
from mailferry.service.users_csv.encoding import DecodedCsv, decode_csv_bytes
from mailferry.service.users_csv.header import (
    KNOWN_COLUMNS,
    REQUIRED_COLUMNS,
    Layout,
    choose_delimiter,
    read_header,
    unnamed_column_problem,
)
from mailferry.service.users_csv.problems import CsvProblem, CsvProblemCode, size_limit_words
from mailferry.service.users_csv.records import Malformed, Record, read_records
from mailferry.service.users_csv.values import (
    address_key,
    email_address_problem,
    login_value_problem,
    normalize_address,
    target_user_name_problem,
    user_root_problem,
)

__all__ = [
    "KNOWN_COLUMNS",
    "MAX_BYTES",
    "MAX_PROBLEMS",
    "MAX_ROWS",
    "CsvProblem",
    "CsvProblemCode",
    "CsvValidationError",
    "MigrationUserRow",
    "UsersCsv",
    "parse_users_csv",
    "read_users_csv",
]

MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
#: Past this many problems checking stops (a wrong file could yield millions of them).
MAX_PROBLEMS = 1_000

_SEP_LINE = re.compile(r"sep=([^\"\r\n])(?:\r\n|\r|\n|\Z)", re.IGNORECASE)
_EMPTY = CsvProblem(None, None, CsvProblemCode.EMPTY_FILE, "Upload file can't be empty.")
_Flag = Callable[[str, CsvProblemCode, str], None]


@dataclass(frozen=True)
class MigrationUserRow:
    """One user to migrate; ``row`` is its spreadsheet row (the header is row 1)."""

    row: int
    email_address: str  # stripped, NFC; case as written (compare with address_key)
    user_name: str  # stripped of surrounding whitespace, otherwise verbatim
    password: str = field(repr=False)  # verbatim, never trimmed, never shown
    user_root: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)  # allowed unknown columns
    target_user_name: str | None = None  # the name the target knows the mailbox by, if given


@dataclass(frozen=True)
class UsersCsv:
    """The accepted rows and how the file was read (shown to the administrator)."""

    rows: tuple[MigrationUserRow, ...]
    encoding: str  # e.g. "UTF-8 with BOM", "Windows-1252", "UTF-16 LE with BOM"
    delimiter: str


def parse_users_csv(
    data: bytes,
    *,
    source_name: str = "CSV",
    existing_addresses: Mapping[str, str] | None = None,
    allow_unknown_columns: bool = False,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> tuple[MigrationUserRow, ...]:
    """The users of ``data``; raises CsvValidationError listing every problem found.

    ``existing_addresses`` maps the addresses already active in other batches (any case)
    to the name of their batch; ``source_name`` (the file name) heads the error message.
    """
    return read_users_csv(
        data,
        source_name=source_name,
        existing_addresses=existing_addresses,
        allow_unknown_columns=allow_unknown_columns,
        max_rows=max_rows,
        max_bytes=max_bytes,
    ).rows


def read_users_csv(
    data: bytes,
    *,
    source_name: str = "CSV",
    existing_addresses: Mapping[str, str] | None = None,
    allow_unknown_columns: bool = False,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> UsersCsv:
    """Like parse_users_csv, also saying which encoding and separator were used."""
    if len(data) > max_bytes:
        raise CsvValidationError(source_name, [_too_large(len(data), max_bytes)])
    decoded = decode_csv_bytes(data)
    if isinstance(decoded, CsvProblem):
        raise CsvValidationError(source_name, [decoded])
    others = {address_key(a): batch for a, batch in (existing_addresses or {}).items()}
    rows, delimiter, problems = _read(decoded, others, allow_unknown_columns, max_rows)
    if problems:
        raise CsvValidationError(source_name, problems)
    return UsersCsv(rows, decoded.encoding, delimiter)


def _too_large(size: int, max_bytes: int) -> CsvProblem:
    reason = (
        f"The CSV file is {size:,} bytes, more than the limit of {size_limit_words(max_bytes)}. "
        f"Please divide the file into two or more files and submit them separately."
    )
    return CsvProblem(None, None, CsvProblemCode.TOO_LARGE, reason)


def _read(
    decoded: DecodedCsv, others: Mapping[str, str], allow_unknown: bool, max_rows: int
) -> tuple[tuple[MigrationUserRow, ...], str, list[CsvProblem]]:
    text, skipped_lines = decoded.text, 0
    sep_line = _SEP_LINE.match(text)
    if sep_line:
        text, skipped_lines = text[sep_line.end() :], 1
    delimiter = sep_line.group(1) if sep_line else choose_delimiter(text)
    problems = _Problems()
    items = read_records(text, delimiter, skipped_lines)
    header = _header(items, problems)
    if header is None:
        return (), delimiter, problems.listed() or [_EMPTY]
    layout, header_problems = read_header(header.row, header.fields, allow_unknown)
    for problem in header_problems:
        problems.add(problem)
    if layout is None:
        return (), delimiter, problems.listed()
    checker = _Checker(layout, delimiter, others, allow_unknown, problems)
    checker.check_all(items)
    return tuple(checker.rows), delimiter, problems.listed() + checker.count_problems(max_rows)


class _Problems:
    """The problems found so far, at most MAX_PROBLEMS; then where checking stopped."""

    def __init__(self) -> None:
        self.found: list[CsvProblem] = []
        self.stopped_at: int | None = None

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_PROBLEMS

    def add(self, problem: CsvProblem) -> None:
        if not self.full:
            self.found.append(problem)
        else:
            self.stop(problem.row)

    def stop(self, row: int | None) -> None:
        if self.stopped_at is None:
            self.stopped_at = row or 0

    def listed(self) -> list[CsvProblem]:
        if self.stopped_at is None:
            return list(self.found)
        reason = (
            f"Checking stopped at row {self.stopped_at} after {MAX_PROBLEMS:,} problems; "
            f"fix these and upload the file again."
        )
        stopped = CsvProblem(None, None, CsvProblemCode.TOO_MANY_PROBLEMS, reason)
        return [*self.found, stopped]


def _header(items: Iterator[Record | Malformed], problems: _Problems) -> Record | None:
    """The first record with content. If it can't be read, the header row is unreadable:
    its problem goes to ``problems``, and without columns no row can be checked."""
    for item in items:
        if isinstance(item, Malformed):
            problems.add(item.problem(header=True))
            return None
        return item
    return None


class _Checker:
    """Checks data rows one at a time, remembering what later rows are compared with."""

    def __init__(
        self,
        layout: Layout,
        delimiter: str,
        others: Mapping[str, str],
        allow_unknown: bool,
        problems: _Problems,
    ) -> None:
        self.layout = layout
        self.delimiter = delimiter
        self.others = others
        self.problems = problems
        self.rows: list[MigrationUserRow] = []
        self.users = 0
        self._first_row: dict[str, int] = {}
        self._unnamed = [] if allow_unknown else list(layout.unnamed)
        self._names = {
            index: name for name, index in [*layout.known.items(), *layout.extra.items()]
        }

    def check_all(self, records: Iterator[Record | Malformed]) -> None:
        """Check the data rows; once checking stops, the rest are only counted."""
        for record in records:
            if self.problems.full:
                self.problems.stop(record.row)
                self.users += 1 + sum(1 for _ in records)
                return
            self.check(record)

    def check(self, record: Record | Malformed) -> None:
        """Check one data row; an unreadable one is a problem, and still counts as a row."""
        self.users += 1
        if isinstance(record, Malformed):
            column = None if record.column is None else self._names.get(record.column)
            self.problems.add(record.problem(column))
        elif len(record.fields) != self.layout.width:
            self.problems.add(_wrong_count(record, self.layout.width, self.delimiter))
        else:
            self._check_unnamed(record)
            user, email, found = _user(record, self.layout)
            for problem in found:
                self.problems.add(problem)
            if email is not None and self._unique(record, email) and user is not None:
                self.rows.append(user)

    def _check_unnamed(self, record: Record) -> None:
        for index in [i for i in self._unnamed if record.fields[i].strip()]:
            self.problems.add(unnamed_column_problem(index, record.row))
            self._unnamed.remove(index)

    def _unique(self, record: Record, email: str) -> bool:
        key = address_key(email)
        first = self._first_row.setdefault(key, record.row)
        if first != record.row:
            self.problems.add(_duplicate(record, email, first))
            return False
        if key in self.others:
            self.problems.add(_elsewhere(record, email, self.others[key]))
            return False
        return True

    def count_problems(self, max_rows: int) -> list[CsvProblem]:
        if self.users == 0:
            reason = "The CSV file has a header row but no users: add one row per user below it."
            return [CsvProblem(None, None, CsvProblemCode.NO_USERS, reason)]
        if self.users > max_rows:
            reason = (
                f"The CSV file contains more than {max_rows:,} rows. Please divide the file "
                f"into two or more files and submit them separately."
            )
            return [CsvProblem(None, None, CsvProblemCode.TOO_MANY_ROWS, reason)]
        return []


def _wrong_count(record: Record, width: int, delimiter: str) -> CsvProblem:
    reason = (
        f"{record.where} has the wrong number of columns. Expected number: {width}. "
        f"Actual number: {len(record.fields)}."
    )
    if len(record.fields) > width:
        shown = f'"{delimiter}"' if delimiter.isprintable() else f"U+{ord(delimiter):04X}"
        shown = "a tab" if delimiter == "\t" else shown
        reason += f" A value that contains {shown} must be in double quotes."
    return CsvProblem(record.row, None, CsvProblemCode.WRONG_COLUMN_COUNT, reason)


def _user(
    record: Record, layout: Layout
) -> tuple[MigrationUserRow | None, str | None, list[CsvProblem]]:
    """The row's user (None if a value is bad or a column missing), its valid address and
    the problems of its values."""
    problems: list[CsvProblem] = []
    value = {name: record.fields[index] for name, index in layout.known.items()}
    email = normalize_address(value.get("EmailAddress", ""))
    user_name = value.get("UserName", "").strip()
    password = value.get("Password", "")
    user_root = value.get("UserRoot", "").strip() or None
    target_name = value.get("TargetUserName", "").strip() or None

    def flag(column: str, code: CsvProblemCode, why: str) -> None:
        problems.append(CsvProblem(record.row, column, code, f"{record.where}: {column} {why}."))

    email_why = email_address_problem(email) if "EmailAddress" in value else "is missing"
    if "EmailAddress" in value and email_why is not None:
        flag("EmailAddress", CsvProblemCode.INVALID_EMAIL, email_why)
    _check_login_value("UserName", user_name, value, CsvProblemCode.EMPTY_USERNAME, flag)
    _check_login_value("Password", password, value, CsvProblemCode.EMPTY_PASSWORD, flag)
    if user_root is not None and (why := user_root_problem(user_root)) is not None:
        flag("UserRoot", CsvProblemCode.INVALID_VALUE, why)
    if target_name is not None and (why := target_user_name_problem(target_name)) is not None:
        flag("TargetUserName", CsvProblemCode.INVALID_VALUE, why)
    valid_email = email if email_why is None else None
    if problems or any(name not in value for name in REQUIRED_COLUMNS):
        return None, valid_email, problems
    extra = MappingProxyType({n: record.fields[i] for n, i in layout.extra.items()})
    user = MigrationUserRow(record.row, email, user_name, password, user_root, extra, target_name)
    return user, valid_email, problems


def _check_login_value(
    column: str, text: str, value: Mapping[str, str], empty: CsvProblemCode, flag: _Flag
) -> None:
    if column not in value:
        return
    if not text.strip():
        flag(column, empty, "is empty")
    elif (why := login_value_problem(text)) is not None:
        flag(column, CsvProblemCode.INVALID_VALUE, why)


def _duplicate(record: Record, email: str, first: int) -> CsvProblem:
    reason = (
        f'{record.where}: EmailAddress "{email}" appears more than once in the file '
        f"(first in row {first})."
    )
    return CsvProblem(record.row, "EmailAddress", CsvProblemCode.DUPLICATE_EMAIL, reason)


def _elsewhere(record: Record, email: str, batch: str) -> CsvProblem:
    reason = f'{record.where}: EmailAddress "{email}" is already being migrated in batch "{batch}".'
    return CsvProblem(record.row, "EmailAddress", CsvProblemCode.EMAIL_IN_OTHER_BATCH, reason)
