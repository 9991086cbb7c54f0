"""The header row of a users CSV: which separator, which column holds what.

Column names match ignoring case and surrounding whitespace. The separator is the one
of ``,``, ``;`` and tab that splits the header into the most known column names (ties:
the most columns, then that order), so a Danish Excel file is read with ``;`` even though
its values may contain commas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailferry.service.users_csv.problems import CsvProblem, CsvProblemCode
from mailferry.service.users_csv.records import Record, first_record
from mailferry.service.users_csv.values import email_address_problem, normalize_address

REQUIRED_COLUMNS = ("EmailAddress", "UserName", "Password")
OPTIONAL_COLUMNS = ("UserRoot", "TargetUserName")
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DELIMITERS = (",", ";", "\t")

_CANONICAL = {name.lower(): name for name in KNOWN_COLUMNS}
_LONGEST_NAME_SHOWN = 40
_NAME_CHARACTER = re.compile(r"[^\s,;]")
_VISIBLE = re.compile(r"\S")


def header_name(raw: str) -> str:
    """A header cell as written, minus surrounding spaces and stray byte-order marks."""
    return raw.replace("\ufeff", "").strip()


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_NEAR = {_squash(name): name for name in KNOWN_COLUMNS}


@dataclass(frozen=True)
class Layout:
    """Where each column is: known ones by their canonical name, others as written."""

    width: int
    known: Mapping[str, int]
    extra: Mapping[str, int]
    unnamed: tuple[int, ...]


def choose_delimiter(text: str) -> str:
    """The separator that best splits the first non-blank line into known column names."""
    start = _header_start(text)

    def score(delimiter: str) -> tuple[int, int]:
        record = first_record(text, delimiter, start)
        if not isinstance(record, Record):
            return 0, 0  # unreadable with this separator (or at all: read_header says why)
        known = sum(1 for name in record.fields if header_name(name).lower() in _CANONICAL)
        return known, len(record.fields)

    return max(DELIMITERS, key=score)


def _header_start(text: str) -> int:
    """Where the first line with a name on it begins; else the first line of only
    separators (as Excel writes empty rows: better than nothing); else 0."""
    found = _NAME_CHARACTER.search(text) or _VISIBLE.search(text)
    if found is None:
        return 0
    return max(text.rfind("\r", 0, found.start()), text.rfind("\n", 0, found.start())) + 1


def read_header(
    row: int, fields: Sequence[str], allow_unknown: bool
) -> tuple[Layout | None, list[CsvProblem]]:
    """The layout the header describes and its problems; no layout if it isn't a header."""
    names = [header_name(name) for name in fields]
    if not any(name.lower() in _CANONICAL for name in names):
        return None, [_no_header(row, names)]
    problems: list[CsvProblem] = []
    known: dict[str, int] = {}
    extra: dict[str, int] = {}
    unnamed: list[int] = []
    seen: dict[str, int] = {}
    for index, written in enumerate(names):
        if not written:
            unnamed.append(index)
            continue
        name = _CANONICAL.get(written.lower(), written)
        if name.lower() in seen:
            if name in KNOWN_COLUMNS or not allow_unknown:
                problems.append(_duplicate(row, name, seen[name.lower()], index))
            continue
        seen[name.lower()] = index
        if name in KNOWN_COLUMNS:
            known[name] = index
        else:
            extra[name] = index
            if not allow_unknown:
                problems.append(_unknown(row, name))
    problems += [_missing(row, name, extra) for name in REQUIRED_COLUMNS if name not in known]
    return Layout(len(names), known, extra, tuple(unnamed)), problems


def unnamed_column_problem(index: int, row: int) -> CsvProblem:
    """Column ``index`` (0-based) has no name, yet ``row`` has a value in it."""
    reason = (
        f"Column {index + 1} has no name in the header row, but row {row} has a value in it. "
        f"Give the column a name, or delete it."
    )
    return CsvProblem(row, None, CsvProblemCode.UNNAMED_COLUMN, reason)


def _shown(name: str) -> str:
    """The name as a reason quotes it: short, and control characters as "?"."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in name[: _LONGEST_NAME_SHOWN + 1])
    if len(name) <= _LONGEST_NAME_SHOWN:
        return shown
    return shown[:_LONGEST_NAME_SHOWN] + "..."


def _no_header(row: int, names: Sequence[str]) -> CsvProblem:
    """Never quotes the row: without a header it may be a user's row, password included."""
    if any(email_address_problem(normalize_address(name)) is None for name in names):
        reason = (
            f"Row {row} should be the header row (EmailAddress, UserName, Password), but it "
            f"looks like a user's row. Add the header row at the top of the file."
        )
    else:
        reason = (
            f"Row {row} should be the header row with the columns EmailAddress, UserName and "
            f"Password (and optionally UserRoot), separated by commas, semicolons or tabs; "
            f"none of these column names was found in it."
        )
    return CsvProblem(row, None, CsvProblemCode.NO_HEADER, reason)


def _duplicate(row: int, name: str, first: int, again: int) -> CsvProblem:
    reason = (
        f'Row {row}: column "{_shown(name)}" appears more than once in the header row '
        f"(columns {first + 1} and {again + 1})."
    )
    return CsvProblem(row, name, CsvProblemCode.DUPLICATE_COLUMN, reason)


def _unknown(row: int, name: str) -> CsvProblem:
    near = _NEAR.get(_squash(name))
    if near is not None:
        reason = (
            f'Row {row}: column "{_shown(name)}" is not a known column. Did you mean "{near}"? '
            f"Column names are single words without spaces."
        )
    else:
        reason = (
            f'Row {row}: column "{_shown(name)}" is not a known column; the columns are '
            f"EmailAddress, UserName, Password and UserRoot. Remove it, or allow unknown columns."
        )
    return CsvProblem(row, name, CsvProblemCode.UNKNOWN_COLUMN, reason)


def _missing(row: int, name: str, extra: Mapping[str, int]) -> CsvProblem:
    reason = (
        f'Column "{name}" is missing from the CSV file. The import process can\'t continue '
        f"because this column is required."
    )
    look_alike = [written for written in extra if _NEAR.get(_squash(written)) == name]
    if look_alike:
        reason += f' (Column "{_shown(look_alike[0])}" looks like it; write the name exactly.)'
    return CsvProblem(row, name, CsvProblemCode.MISSING_COLUMN, reason)
