"""Bad files that used to crash the CSV reader or get a wrong reason (issue 9): each is
refused with a problem naming its row and column, or the file, never a traceback."""

from __future__ import annotations

import codecs
import time
from typing import Any

import pytest

from mailferry.service.users_csv.parse import (
    CsvProblem,
    CsvProblemCode,
    CsvValidationError,
    parse_users_csv,
    read_users_csv,
)
from mailferry.service.users_csv.records import MAX_COLUMNS, MAX_VALUE_CHARS

HEADER = b"EmailAddress,UserName,Password\r\n"
USER = b"a@contoso.com,a,p\r\n"
C = CsvProblemCode


def problems(data: bytes, **options: Any) -> tuple[CsvProblem, ...]:
    with pytest.raises(CsvValidationError) as caught:
        parse_users_csv(data, **options)
    return caught.value.problems


def test_header_field_past_the_csv_modules_limit() -> None:
    """131,073 characters: one past Python's csv field_size_limit, once a _csv.Error."""
    [problem] = problems(b"E" * 131_073 + b",UserName,Password\r\n" + USER)
    assert (problem.code, problem.row, problem.column) == (C.MALFORMED_ROW, 1, None)
    assert problem.reason == (
        f"Row 1, column 1: a value of 131,073 characters is longer than any column name "
        f"(limit {MAX_VALUE_CHARS:,} characters)."
    )


@pytest.mark.parametrize("quoted", [False, True], ids=["unquoted", "quoted"])
def test_megabyte_value_is_too_long_not_an_unclosed_quote(quoted: bool) -> None:
    value = b"p" * 1_048_576
    cell = b'"' + value + b'"' if quoted else value
    data = HEADER + b"a@contoso.com,a," + cell + b"\r\nb@contoso.com,b,\r\n"
    found = problems(data)
    assert [(p.code, p.row, p.column) for p in found] == [
        (C.MALFORMED_ROW, 2, "Password"),
        (C.EMPTY_PASSWORD, 3, "Password"),  # the row after it was still read and checked
    ]
    assert found[0].reason == (
        f"Row 2, column Password: a value of 1,048,576 characters is longer than any "
        f"password or access token (limit {MAX_VALUE_CHARS:,} characters)."
    )
    assert "quote" not in found[0].reason


def test_value_at_the_limit_is_kept() -> None:
    password = "p" * MAX_VALUE_CHARS
    [row] = parse_users_csv(HEADER + b"a@contoso.com,a," + password.encode() + b"\r\n")
    assert row.password == password
    [problem] = problems(HEADER + b"a@contoso.com,a," + password.encode() + b"p\r\n")
    assert f"a value of {MAX_VALUE_CHARS + 1:,} characters" in problem.reason


def test_quote_never_closed_says_so_and_where() -> None:
    data = HEADER + b'a@contoso.com,"a,p\r\nb@contoso.com,b,p\r\nc@contoso.com,c,p\r\n'
    [problem] = problems(data)
    assert (problem.code, problem.row, problem.column) == (C.MALFORMED_ROW, 2, "UserName")
    assert problem.reason == (
        "Row 2, column UserName: a quoted value's closing double quote is missing, so the rest "
        "of the file (2 more lines) was taken as part of the value and not checked."
    )


def test_text_after_a_closing_quote_names_the_column() -> None:
    [problem] = problems(HEADER + b'a@contoso.com,a,"p"w\r\n' + USER.replace(b"a", b"b"))
    assert (problem.code, problem.row, problem.column) == (C.MALFORMED_ROW, 2, "Password")
    assert problem.reason.startswith("Row 2, column Password: a double quote inside")


def test_huge_number_of_columns() -> None:
    [problem] = problems(b"EmailAddress,UserName,Password" + b"," * 2_000_000 + b"\r\n" + USER)
    assert (problem.code, problem.row) == (C.MALFORMED_ROW, 1)
    assert problem.reason.startswith(f"Row 1 has 2,000,003 columns, more than the {MAX_COLUMNS:,}")
    quoted_row = b'a@contoso.com,a,p,""' + b',""' * MAX_COLUMNS + b"\r\n"
    data = b"EmailAddress,UserName,Password,Notes\r\n" + quoted_row
    [problem] = problems(data, allow_unknown_columns=True)
    assert problem.row == 2
    assert problem.reason.startswith("Row 2 has 16,388 columns, more than the 16,384")


def test_many_columns_within_the_limit_are_counted() -> None:
    data = HEADER + b"a@contoso.com,a,p" + b",x" * 100 + b"\r\n"
    [problem] = problems(data)
    assert problem.code == C.WRONG_COLUMN_COUNT
    assert "Actual number: 103." in problem.reason


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (HEADER + b"a@contoso.com,a,p\x00w\r\n", "Password"),
        (HEADER + b"a@contoso.com,\x00,p\r\n", "UserName"),
        (HEADER + b"a\x00@contoso.com,a,p\r\n", "EmailAddress"),
    ],
)
def test_nul_bytes_are_problems_of_their_value(data: bytes, column: str) -> None:
    [problem] = problems(data)
    assert (problem.row, problem.column) == (2, column)


def test_nul_in_the_header_is_not_echoed() -> None:
    [unknown, missing] = problems(b"EmailAddress,User\x00Name,Password\r\n" + USER)
    assert unknown.reason.startswith('Row 1: column "User?Name" is not a known column.')
    assert missing.column == "UserName"


def test_utf16_without_bom_cut_to_an_odd_length() -> None:
    text = "EmailAddress\tUserName\tPassword\r\na@contoso.com\ta\tp\r\n"
    [problem] = problems(text.encode("utf-16-le") + b"x")
    assert (problem.code, problem.row) == (C.ENCODING, None)
    assert "UTF-16 LE" in problem.reason and "odd number of bytes" in problem.reason
    [problem] = problems(text.encode("utf-16-be") + b"x")
    assert "UTF-16 BE" in problem.reason


def test_utf16_without_bom_with_an_unpaired_surrogate() -> None:
    data = "EmailAddress\tUserName\tPassword\r\n".encode("utf-16-le") + b"\x00\xd8a\x00"
    [problem] = problems(data)
    assert problem.code == C.ENCODING
    assert "line 2" in problem.reason


@pytest.mark.parametrize("data", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE])
def test_a_bom_followed_by_nothing(data: bytes) -> None:
    assert [p.code for p in problems(data)] == [C.EMPTY_FILE]


def test_lone_cr_line_endings() -> None:
    parsed = read_users_csv(
        HEADER.replace(b"\r\n", b"\r") + b"a@contoso.com,a,p\rb@contoso.com,b,q"
    )
    assert [(r.row, r.user_name) for r in parsed.rows] == [(2, "a"), (3, "b")]


def test_mixed_separators() -> None:
    data = HEADER + b"a@contoso.com;a;p\r\nb@contoso.com,b,p\r\n"
    [problem] = problems(data)
    assert (problem.code, problem.row) == (C.WRONG_COLUMN_COUNT, 2)


def test_header_only() -> None:
    assert [(p.code, p.row) for p in problems(HEADER)] == [(C.NO_USERS, None)]


def test_one_row_too_many_with_the_last_row_broken() -> None:
    body = b"".join(b"u%d@contoso.com,u%d,p\r\n" % (i, i) for i in range(3))
    found = problems(HEADER + body + b'last@contoso.com,"l,p\r\n', max_rows=3)
    assert [(p.code, p.row) for p in found] == [(C.TOO_MANY_ROWS, None), (C.MALFORMED_ROW, 5)]


def test_millions_of_lines_are_read_in_bounded_time() -> None:
    """Past MAX_PROBLEMS records are counted, not checked (bench/csv_fuzz.py times 10 MB)."""
    started = time.process_time()
    found = problems(HEADER + b"a\n" * 500_000)
    assert [p.code for p in found[:2]] == [C.TOO_MANY_PROBLEMS, C.TOO_MANY_ROWS]  # still counted
    assert found[0].reason.startswith("Checking stopped at row 1002 after 1,000 problems")
    assert len(found) == 1_002
    assert [p.code for p in problems(b"\n" * 2_000_000)] == [C.EMPTY_FILE]
    assert [p.code for p in problems(b";;\r\n" * 250_000)] == [C.EMPTY_FILE]
    assert time.process_time() - started < 10
