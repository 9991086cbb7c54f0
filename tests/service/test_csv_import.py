"""CSV import of migration users: the example files, and files written the way Excel does."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest

from mailferry.errors import MailferryError
from mailferry.service.users_csv.parse import (
    CsvValidationError,
    MigrationUserRow,
    parse_users_csv,
    read_users_csv,
)

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "csv"  # copied from shared/examples

CONTOSO = ("terrya@contoso.edu", "annb@contoso.edu", "paulc@contoso.edu")
DANISH = [
    (2, "søren@contoso.dk", "søren.ærø", "Kode;1"),
    (3, "åse@contoso.dk", "åse.øster", 'p"w'),
]


def excel_csv(
    rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False
) -> bytes:
    """Rows as Excel saves them: CRLF, minimal quoting, the locale's separator."""
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    return (codecs.BOM_UTF8 if bom else b"") + data


def users(rows: list[MigrationUserRow] | tuple[MigrationUserRow, ...]) -> list[tuple[object, ...]]:
    return [(r.row, r.email_address, r.user_name, r.password) for r in rows]


DANISH_ROWS = [
    ["EmailAddress", "UserName", "Password"],
    ["søren@contoso.dk", "søren.ærø", "Kode;1"],
    ["åse@contoso.dk", "åse.øster", 'p"w'],
]


# --- the example files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user_names", "password"),
    [
        ("basic.csv", ["terry.adams", "ann.beebe", "paul.cannon"], None),
        (
            "exchange-admin.csv",
            [
                f"contoso-students/mailadmin/{u}"
                for u in ("terry.adams", "ann.beebe", "paul.cannon")
            ],
            "P@ssw0rd",
        ),
        (
            "dovecot-master.csv",
            [f"{u}*mailadmin" for u in ("terry.adams", "ann.beebe", "paul.cannon")],
            "P@ssw0rd",
        ),
        (
            "mirapoint-admin.csv",
            [
                f"#{u}@contoso-students.edu#mailadmin#"
                for u in ("terry.adams", "ann.beebe", "paul.cannon")
            ],
            "P@ssw0rd",
        ),
    ],
)
def test_microsoft_examples(name: str, user_names: list[str], password: str | None) -> None:
    parsed = read_users_csv((EXAMPLES / name).read_bytes(), source_name=name)
    assert (parsed.encoding, parsed.delimiter) == ("UTF-8", ",")
    assert [r.row for r in parsed.rows] == [2, 3, 4]
    assert [r.email_address for r in parsed.rows] == list(CONTOSO)
    assert [r.user_name for r in parsed.rows] == user_names
    expected = ["1091990", "2111991", "3281986"] if password is None else [password] * 3
    assert [r.password for r in parsed.rows] == expected
    assert all(r.user_root is None for r in parsed.rows)


def test_courier_user_root() -> None:
    rows = parse_users_csv((EXAMPLES / "courier-userroot.csv").read_bytes())
    assert [r.user_root for r in rows] == [
        "/users/terry.adams",
        "/users/ann.beebe",
        "/users/paul.cannon",
    ]
    assert {r.user_name for r in rows} == {"mailadmin"}


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("excel-danish-utf8-bom.csv", "UTF-8 with BOM"),
        ("excel-danish-cp1252.csv", "Windows-1252"),
    ],
)
def test_danish_excel_examples(name: str, encoding: str) -> None:
    parsed = read_users_csv((EXAMPLES / name).read_bytes())
    assert (parsed.encoding, parsed.delimiter) == (encoding, ";")
    assert users(parsed.rows) == DANISH


def test_unicode_text_example_is_utf16_with_tabs() -> None:
    parsed = read_users_csv((EXAMPLES / "excel-utf16.csv").read_bytes())
    assert (parsed.encoding, parsed.delimiter) == ("UTF-16 LE with BOM", "\t")
    # The tab-separated twin of "Kode;1": the separator inside a quoted password.
    assert users(parsed.rows) == [(*DANISH[0][:3], "Kode\t1"), DANISH[1]]


# --- files written here the way Excel writes them ----------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        (excel_csv(DANISH_ROWS, delimiter=";", encoding="cp1252"), "Windows-1252", ";"),
        (excel_csv(DANISH_ROWS, delimiter=";", bom=True), "UTF-8 with BOM", ";"),
        (excel_csv(DANISH_ROWS, delimiter=","), "UTF-8", ","),
        (excel_csv(DANISH_ROWS, delimiter="\t", encoding="utf-16"), "UTF-16 LE with BOM", "\t"),
        (
            codecs.BOM_UTF16_BE + excel_csv(DANISH_ROWS, delimiter="\t", encoding="utf-16-be"),
            "UTF-16 BE with BOM",
            "\t",
        ),
        (excel_csv(DANISH_ROWS, delimiter="\t", encoding="utf-16-le"), "UTF-16 LE", "\t"),
        (excel_csv(DANISH_ROWS, delimiter=",", encoding="utf-32"), "UTF-32 LE with BOM", ","),
    ],
    ids=[
        "cp1252-semicolon",
        "utf8bom-semicolon",
        "utf8-comma",
        "utf16le",
        "utf16be",
        "utf16-nobom",
        "utf32",
    ],
)
def test_generated_excel_files(data: bytes, encoding: str, delimiter: str) -> None:
    parsed = read_users_csv(data)
    assert (parsed.encoding, parsed.delimiter) == (encoding, delimiter)
    assert users(parsed.rows) == DANISH


def test_english_excel_quotes_commas_and_quotes() -> None:
    rows = [
        ["EmailAddress", "UserName", "Password"],
        ["terrya@contoso.edu", "terry.adams", 'a,b"c'],
        ["annb@contoso.edu", "ann.beebe", '"quoted"'],
    ]
    data = excel_csv(rows)
    assert b'"a,b""c"' in data
    assert [r.password for r in parse_users_csv(data)] == ['a,b"c', '"quoted"']


def test_blank_rows_and_excel_empty_rows_are_ignored_but_counted() -> None:
    data = (
        b"EmailAddress;UserName;Password\r\n;;\r\n"
        b"terrya@contoso.edu;terry;pw1\r\n\r\n  ;  ;\r\n"
        b"annb@contoso.edu;ann;pw2\r\n;;\r\n\r\n\r\n"
    )
    assert [(r.row, r.user_name) for r in parse_users_csv(data)] == [(3, "terry"), (6, "ann")]


def test_excel_sep_line_chooses_the_separator() -> None:
    data = b"sep=;\r\nEmailAddress;UserName;Password\r\nterrya@contoso.edu;t,a;p,w\r\n"
    parsed = read_users_csv(data)
    assert parsed.delimiter == ";"
    assert users(parsed.rows) == [(2, "terrya@contoso.edu", "t,a", "p,w")]


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"])
def test_line_endings(newline: bytes) -> None:
    data = newline.join([b"EmailAddress,UserName,Password", b"a@contoso.com,a,p", b""])
    assert users(parse_users_csv(data)) == [(2, "a@contoso.com", "a", "p")]


def test_quoted_line_break_keeps_spreadsheet_row_numbers() -> None:
    data = (
        b'EmailAddress,UserName,Password,Notes\r\na@contoso.com,a,p,"two\r\nlines"\r\n'
        b"b@contoso.com,b,p,x,extra\r\n"
    )
    with pytest.raises(CsvValidationError) as caught:
        parse_users_csv(data, allow_unknown_columns=True)
    [problem] = caught.value.problems
    assert problem.row == 3
    assert problem.reason.startswith("Row 3 (line 4 of the file) has the wrong number")


def test_header_names_ignore_case_order_and_spaces() -> None:
    data = b" password ,EMAILADDRESS,username,UserRoot\r\nsecret,a@contoso.com,a,\r\n"
    [row] = parse_users_csv(data)
    assert (row.email_address, row.user_name, row.password, row.user_root) == (
        "a@contoso.com",
        "a",
        "secret",
        None,
    )


def test_values_are_normalised_but_passwords_kept_verbatim() -> None:
    decomposed = "so\u0308ren"  # "ö" as o + combining diaeresis (macOS)
    rows = [
        ["EmailAddress", "UserName", "Password"],
        [f"  {decomposed}@Contoso.DK\u00a0", "  søren  ", "  two spaces  "],
    ]
    [row] = parse_users_csv(excel_csv(rows))
    assert row.email_address == "sören@Contoso.DK"
    assert row.user_name == "søren"
    assert row.password == "  two spaces  "


def test_unknown_columns_allowed_are_kept_as_extra() -> None:
    data = b"EmailAddress,Department,UserName,Password\r\na@contoso.com,Sales,a,p\r\n"
    [row] = parse_users_csv(data, allow_unknown_columns=True)
    assert dict(row.extra) == {"Department": "Sales"}
    assert hash(row) == hash(row)  # usable in sets despite the mapping


def test_password_not_in_repr() -> None:
    [row] = parse_users_csv(b"EmailAddress,UserName,Password\r\na@contoso.com,a,Zebra-42\r\n")
    assert "Zebra-42" not in repr(row)
    assert row.password == "Zebra-42"


def test_unnamed_empty_columns_are_ignored() -> None:
    data = b"EmailAddress,UserName,Password,,\r\na@contoso.com,a,p,,\r\n"
    assert len(parse_users_csv(data)) == 1


def test_error_is_a_mailferry_error() -> None:
    assert issubclass(CsvValidationError, MailferryError)


def test_utf16_big_endian_without_bom() -> None:
    parsed = read_users_csv(excel_csv(DANISH_ROWS, delimiter="\t", encoding="utf-16-be"))
    assert (parsed.encoding, parsed.delimiter) == ("UTF-16 BE", "\t")
    assert users(parsed.rows) == DANISH


def test_leading_blank_lines_and_a_doubled_bom() -> None:
    data = codecs.BOM_UTF8 + excel_csv([[], [], *DANISH_ROWS], delimiter=";", bom=True)
    parsed = read_users_csv(data)
    assert parsed.encoding == "UTF-8 with BOM"
    assert [(r.row, r.email_address) for r in parsed.rows] == [
        (4, "søren@contoso.dk"),
        (5, "åse@contoso.dk"),
    ]


def test_cp1252_bytes_windows_leaves_unassigned() -> None:
    data = b"EmailAddress;UserName;Password\r\nx@contoso.dk;\x80uro;p\x81w\r\n"
    [row] = parse_users_csv(data)
    assert (row.user_name, row.password) == ("€uro", "p\x81w")
