"""Every rule of SPEC §1.4: each problem, its row, its words; all of them at once."""

from __future__ import annotations

import codecs
from typing import Any

import pytest

from mailferry.service.users_csv.parse import (
    MAX_BYTES,
    MAX_PROBLEMS,
    MAX_ROWS,
    CsvProblem,
    CsvProblemCode,
    CsvValidationError,
    parse_users_csv,
)

HEADER = b"EmailAddress,UserName,Password\r\n"
C = CsvProblemCode


def problems(data: bytes, **options: Any) -> tuple[CsvProblem, ...]:
    with pytest.raises(CsvValidationError) as caught:
        parse_users_csv(data, **options)
    return caught.value.problems


def found(data: bytes, **options: Any) -> list[tuple[CsvProblemCode, int | None]]:
    return [(p.code, p.row) for p in problems(data, **options)]


def lines(*rows: str) -> bytes:
    return "".join(row + "\r\n" for row in rows).encode()


@pytest.mark.parametrize(
    "data", [b"", codecs.BOM_UTF8, b"\r\n\r\n", b" \r\n", codecs.BOM_UTF16_LE, b";;\r\n;;\r\n"]
)
def test_empty_file(data: bytes) -> None:
    [problem] = problems(data)
    assert (problem.code, problem.row, problem.reason) == (
        C.EMPTY_FILE,
        None,
        "Upload file can't be empty.",
    )


def test_header_only() -> None:
    assert found(HEADER + b"\r\n,,\r\n") == [(C.NO_USERS, None)]


def test_missing_required_column_uses_microsoft_words() -> None:
    [problem] = problems(lines("EmailAddress,UserName", "a@contoso.com,a"))
    assert (problem.code, problem.row, problem.column) == (C.MISSING_COLUMN, 1, "Password")
    assert problem.reason == (
        'Column "Password" is missing from the CSV file. The import process can\'t continue '
        "because this column is required."
    )


def test_each_missing_column_is_reported() -> None:
    result = problems(lines("UserRoot,Notes", "/users/a,x"), allow_unknown_columns=True)
    assert [p.column for p in result] == ["EmailAddress", "UserName", "Password"]


def test_wrong_column_count_uses_microsoft_words() -> None:
    data = HEADER + lines("a@contoso.com,a,p", "b@contoso.com,b,Kode,1", "c@contoso.com,c")
    result = problems(data)
    assert [(p.code, p.row) for p in result] == [
        (C.WRONG_COLUMN_COUNT, 3),
        (C.WRONG_COLUMN_COUNT, 4),
    ]
    assert result[0].reason.startswith(
        "Row 3 has the wrong number of columns. Expected number: 3. Actual number: 4."
    )
    assert '"," must be in double quotes' in result[0].reason
    assert result[1].reason == (
        "Row 4 has the wrong number of columns. Expected number: 3. Actual number: 2."
    )


def test_unknown_column_unless_allowed() -> None:
    data = lines("EmailAddress,UserName,Password,Department", "a@contoso.com,a,p,Sales")
    [problem] = problems(data)
    assert (problem.code, problem.row, problem.column) == (C.UNKNOWN_COLUMN, 1, "Department")
    assert '"Department"' in problem.reason
    assert len(parse_users_csv(data, allow_unknown_columns=True)) == 1


def test_spaced_column_name_gets_a_hint() -> None:
    result = problems(lines("Email Address,UserName,Password", "a@contoso.com,a,p"))
    assert [(p.code, p.column) for p in result] == [
        (C.UNKNOWN_COLUMN, "Email Address"),
        (C.MISSING_COLUMN, "EmailAddress"),
    ]
    assert 'Did you mean "EmailAddress"?' in result[0].reason
    assert 'Column "Email Address" looks like it' in result[1].reason


def test_duplicate_column() -> None:
    data = lines("EmailAddress,UserName,Password,emailaddress", "a@contoso.com,a,p,b@contoso.com")
    [problem] = problems(data)
    assert (problem.code, problem.column) == (C.DUPLICATE_COLUMN, "EmailAddress")
    assert "(columns 1 and 4)" in problem.reason


def test_unnamed_column_with_a_value() -> None:
    data = lines("EmailAddress,UserName,Password,", "a@contoso.com,a,p,", "b@contoso.com,b,p,x")
    [problem] = problems(data)
    assert (problem.code, problem.row) == (C.UNNAMED_COLUMN, 3)
    assert problem.reason.startswith("Column 4 has no name in the header row, but row 3")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("", "is empty"),
        ("terrya.contoso.edu", 'no "@"'),
        ("terry a@contoso.edu", "contains a space"),
        ("a@b@contoso.edu", 'more than one "@"'),
        ("@contoso.edu", 'nothing before the "@"'),
        ("terrya@", "no domain"),
        ("terrya@contoso", "has no dot"),
        (".terrya@contoso.edu", "two dots in a row"),
        ("terry..a@contoso.edu", "two dots in a row"),
        ("terrya@contoso..edu", "two dots in a row"),
        ("terrya@-contoso.edu", 'starts or ends with "-"'),
        ("terrya@contoso_x.edu", "only letters, digits"),
        ("terrya@10.0.0.1", "ends in a number"),
        ("terry(a)@contoso.edu", 'character "("'),
        ("terry\u200ba@contoso.edu", "invisible"),
        ("x" * 65 + "@contoso.edu", "longer than 64"),
        ("a@" + "b" * 64 + ".edu", "longer than 63"),
        ("a@" + ".".join(["b" * 60] * 5) + ".edu", "longer than 254"),
    ],
)
def test_invalid_email_address(address: str, why: str) -> None:
    data = HEADER + lines("ok@contoso.edu,ok,p", f"{address},user,p")
    [problem] = problems(data)
    assert (problem.code, problem.row, problem.column) == (C.INVALID_EMAIL, 3, "EmailAddress")
    assert problem.reason.startswith("Row 3: EmailAddress ")
    assert why in problem.reason


@pytest.mark.parametrize(
    "address",
    [
        "terrya@contoso.edu",
        "Terry.Adams+migration@Contoso.EDU",
        "o'brien@contoso.ie",
        "søren@contoso.dk",
        "åse.øster@ærø.dk",
        "用户@例子.中国",
        "a@b-c.d-e.com",
        "x@xn--r-1gaa.dk",
    ],
)
def test_valid_email_address(address: str) -> None:
    [row] = parse_users_csv(HEADER + lines(f"{address},user,p"))
    assert row.email_address == address


def test_duplicate_email_names_the_first_row() -> None:
    data = HEADER + lines(
        "terrya@contoso.edu,a,p",
        "annb@contoso.edu,b,p",
        "TerryA@Contoso.EDU,c,p",
        "terrya@contoso.edu,d,p",
    )
    result = problems(data)
    assert [(p.code, p.row) for p in result] == [(C.DUPLICATE_EMAIL, 4), (C.DUPLICATE_EMAIL, 5)]
    assert result[0].reason == (
        'Row 4: EmailAddress "TerryA@Contoso.EDU" appears more than once in the file '
        "(first in row 2)."
    )


def test_email_active_in_another_batch() -> None:
    data = HEADER + lines("terrya@contoso.edu,a,p", "annb@contoso.edu,b,p")
    result = problems(data, existing_addresses={"AnnB@contoso.edu": "IMAPBatch1"})
    [problem] = result
    assert (problem.code, problem.row) == (C.EMAIL_IN_OTHER_BATCH, 3)
    assert problem.reason == (
        'Row 3: EmailAddress "annb@contoso.edu" is already being migrated in batch "IMAPBatch1".'
    )
    assert len(parse_users_csv(data, existing_addresses={"other@contoso.edu": "B"})) == 2


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        ("a@contoso.com,,p", C.EMPTY_USERNAME, "UserName"),
        ("a@contoso.com,   ,p", C.EMPTY_USERNAME, "UserName"),
        ("a@contoso.com,a,", C.EMPTY_PASSWORD, "Password"),
        ('a@contoso.com,a,"  "', C.EMPTY_PASSWORD, "Password"),
        ('a@contoso.com,a,"p\nw"', C.INVALID_VALUE, "Password"),
        ("a@contoso.com,a\x00b,p", C.INVALID_VALUE, "UserName"),
    ],
)
def test_user_name_and_password(row: str, code: CsvProblemCode, column: str) -> None:
    [problem] = problems(HEADER + lines(row))
    assert (problem.code, problem.row, problem.column) == (code, 2, column)


def test_tab_in_password_is_allowed() -> None:
    [row] = parse_users_csv(HEADER + lines('a@contoso.com,a,"p\tw"'))
    assert row.password == "p\tw"


@pytest.mark.parametrize("root", ["/users/*", "/users/%", "/users/a\tb"])
def test_bad_user_root(root: str) -> None:
    data = lines("EmailAddress,UserName,Password,UserRoot", f'a@contoso.com,admin,p,"{root}"')
    [problem] = problems(data)
    assert (problem.code, problem.row, problem.column) == (C.INVALID_VALUE, 2, "UserRoot")


def test_more_rows_than_allowed() -> None:
    data = HEADER + lines(*(f"u{i}@contoso.com,u{i},p" for i in range(4)))
    [problem] = problems(data, max_rows=3)
    assert (problem.code, problem.row) == (C.TOO_MANY_ROWS, None)
    assert problem.reason.startswith("The CSV file contains more than 3 rows.")
    assert len(parse_users_csv(data, max_rows=4)) == 4


def test_default_row_limit_is_50000() -> None:
    body = "".join(f"u{i}@contoso.com,u{i},p\r\n" for i in range(MAX_ROWS))
    assert len(parse_users_csv(HEADER + body.encode())) == MAX_ROWS
    [problem] = problems(HEADER + body.encode() + b"last@contoso.com,l,p\r\n")
    assert problem.reason == (
        "The CSV file contains more than 50,000 rows. Please divide the file into two or more "
        "files and submit them separately."
    )


def test_larger_than_allowed() -> None:
    data = HEADER + lines("a@contoso.com,a,p")
    [problem] = problems(data, max_bytes=len(data) - 1)
    assert (problem.code, problem.row) == (C.TOO_LARGE, None)
    assert len(parse_users_csv(data, max_bytes=len(data))) == 1


def test_default_size_limit_is_10_mb() -> None:
    assert MAX_BYTES == 10 * 1024 * 1024
    data = HEADER + b"a@contoso.com,a," + b"p" * (MAX_BYTES - len(HEADER) - 16 + 1)
    assert len(data) == MAX_BYTES + 1
    [problem] = problems(data)
    assert problem.code == C.TOO_LARGE
    assert "10 MB (10,485,760 bytes)" in problem.reason


def test_first_row_is_not_a_header() -> None:
    data = lines("terrya@contoso.edu,terry,Secret-77", "annb@contoso.edu,ann,Secret-78")
    [problem] = problems(data)
    assert (problem.code, problem.row) == (C.NO_HEADER, 1)
    assert "looks like a user's row" in problem.reason
    assert "Secret-77" not in problem.reason
    [other] = problems(lines("Name;Mail;Secret", "a;b;c"))
    assert "none of these column names was found" in other.reason


@pytest.mark.parametrize(
    ("data", "row", "words"),
    [
        (HEADER + b'a@contoso.com,a,"never closed\r\nb@contoso.com,b,p\r\n', 2, "closing double"),
        (HEADER + b'a@contoso.com,"a"b,p\r\nb@contoso.com,b,p\r\n', 2, 'as two ("")'),
    ],
)
def test_malformed_quotes(data: bytes, row: int, words: str) -> None:
    [problem] = problems(data)
    assert (problem.code, problem.row) == (C.MALFORMED_ROW, row)
    assert words in problem.reason


def test_workbook_instead_of_csv() -> None:
    [problem] = problems(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40)
    assert problem.code == C.NOT_CSV
    assert ".xlsx" in problem.reason


def test_mixed_encodings_are_refused() -> None:
    data = (
        HEADER
        + "søren@contoso.dk,søren,p\r\n".encode()
        + "åse@contoso.dk,åse,p\r\n".encode("cp1252")
    )
    [problem] = problems(data)
    assert problem.code == C.ENCODING
    assert "line 3" in problem.reason


def test_broken_utf16_is_refused() -> None:
    data = codecs.BOM_UTF16_LE + (HEADER + b"a@contoso.com,a,p\r\n").decode().encode("utf-16-le")
    [problem] = problems(data + b"x")
    assert problem.code == C.ENCODING
    assert "UTF-16" in problem.reason


def test_all_problems_are_reported_together_in_row_order() -> None:
    data = lines(
        "EmailAddress,UserName,Password,Department",
        "terrya@contoso.edu,terry,pw-1,x",
        "not-an-address,ann,pw-2,x",
        "paulc@contoso.edu,,pw-3,x",
        "terrya@contoso.edu,terry2,pw-4,x",
        "extra@contoso.edu,e,pw-5,x,y",
        "empty@contoso.edu,e,,x",
        "taken@contoso.edu,t,pw-6,x",
    )
    result = found(data, existing_addresses={"taken@contoso.edu": "Batch0"})
    assert result == [
        (C.UNKNOWN_COLUMN, 1),
        (C.INVALID_EMAIL, 3),
        (C.EMPTY_USERNAME, 4),
        (C.DUPLICATE_EMAIL, 5),
        (C.WRONG_COLUMN_COUNT, 6),
        (C.EMPTY_PASSWORD, 7),
        (C.EMAIL_IN_OTHER_BATCH, 8),
    ]


def test_whole_file_problems_come_with_row_problems() -> None:
    data = HEADER + lines(*(f"u{i}@contoso,u{i},p" for i in range(3)))
    assert found(data, max_rows=2) == [
        (C.TOO_MANY_ROWS, None),
        (C.INVALID_EMAIL, 2),
        (C.INVALID_EMAIL, 3),
        (C.INVALID_EMAIL, 4),
    ]


def test_checking_stops_after_max_problems() -> None:
    data = HEADER + lines(*(f"u{i},u{i},p" for i in range(MAX_PROBLEMS + 50)))
    result = problems(data)
    assert len(result) == MAX_PROBLEMS + 1
    assert result[0].code == C.TOO_MANY_PROBLEMS
    assert result[0].reason.startswith(f"Checking stopped at row {MAX_PROBLEMS + 2} ")


def test_message_lists_the_first_problems_and_a_count() -> None:
    data = HEADER + lines(*(f"u{i},u{i},p" for i in range(12)))
    with pytest.raises(CsvValidationError) as caught:
        parse_users_csv(data, source_name="users.csv")
    message = str(caught.value)
    assert message.startswith("users.csv was not imported: 12 problems.\n")
    assert "Row 2: EmailAddress" in message
    assert "Row 12: EmailAddress" not in message
    assert message.endswith("... and 2 more.")


def test_passwords_never_appear_in_problems() -> None:
    secrets = [f"S3cr3t-{i}!" for i in range(8)]
    data = lines(
        "EmailAddress,UserName,Password,Foo",
        f"no-at-sign,a,{secrets[0]},x",
        f"a@contoso.com,,{secrets[1]},x",
        f"a@contoso.com,b,{secrets[2]},x",
        f"b@contoso.com,c,{secrets[3]},x,too-many",
        f'"c@contoso.com",d,"{secrets[4]}\r\nmore",x',
        f"{secrets[5]},{secrets[6]},e,x",  # columns shifted: a password in EmailAddress
        f"taken@contoso.com,f,{secrets[7]},x",
        'd@contoso.com,g,"broken,x',
    )
    with pytest.raises(CsvValidationError) as caught:
        parse_users_csv(data, existing_addresses={"taken@contoso.com": "B"})
    error = caught.value
    assert len(error.problems) >= 8
    text = "\n".join([str(error), repr(error.problems), *map(str, error.problems)])
    for secret in secrets:
        assert secret not in text
