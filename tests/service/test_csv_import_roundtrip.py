"""Property: users written by Python's csv module in any accepted dialect and encoding
parse back to the same values, and the quick address check never disagrees with the
careful one."""

from __future__ import annotations

import csv
import io
import string
import unicodedata
from dataclasses import dataclass

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailferry.service.users_csv.parse import CsvValidationError, read_users_csv
from mailferry.service.users_csv.values import (
    _address_problem_in_detail,
    _is_plain_address,
    email_address_problem,
)


@dataclass(frozen=True)
class Encoding:
    codec: str
    bom: bytes
    alphabet: st.SearchStrategy[str]  # for user names and passwords
    letters: st.SearchStrategy[str]  # non-ASCII letters for addresses


ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
# Windows-1252 letters that are all >= 0xC0: no run of them and ASCII is valid UTF-8, so the
# file can't be mistaken for UTF-8 (a real, documented ambiguity kept out of this test).
CP1252_LETTERS = st.sampled_from("æøåÆØÅéüÉ")
CP1252_TEXT = st.sampled_from(string.printable[:95]) | CP1252_LETTERS
ANY_TEXT = st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t")
ANY_LETTERS = st.characters(categories=["Lu", "Ll", "Lo"], min_codepoint=0x80)

ENCODINGS = [
    Encoding("utf-8", b"", ANY_TEXT, ANY_LETTERS),
    Encoding("utf-8", b"\xef\xbb\xbf", ANY_TEXT, ANY_LETTERS),
    Encoding("utf-16-le", b"\xff\xfe", ANY_TEXT, ANY_LETTERS),
    Encoding("utf-16-be", b"\xfe\xff", ANY_TEXT, ANY_LETTERS),
    Encoding("utf-16-le", b"", ANY_TEXT, ANY_LETTERS),
    Encoding("cp1252", b"", CP1252_TEXT, CP1252_LETTERS),
]


@st.composite
def addresses(draw: st.DrawFn, letters: st.SearchStrategy[str]) -> str:
    atom = st.text(st.sampled_from(ATEXT) | letters, min_size=1, max_size=5)  # <= 64 bytes
    label = st.text(st.sampled_from(string.ascii_lowercase + string.digits), min_size=1, max_size=8)
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=3)))
    domain = ".".join(draw(st.lists(label, min_size=1, max_size=3)))
    address = f"{local}@{domain}.{draw(st.sampled_from(['com', 'dk', 'edu']))}"
    assume(unicodedata.is_normalized("NFC", address))  # the import composes (NFC) addresses
    return address


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str, str, str | None]]]:
    encoding = draw(st.sampled_from(ENCODINGS))
    letters = encoding.alphabet
    value = st.text(letters, min_size=1, max_size=12)
    user_name = value.map(str.strip).filter(bool)
    password = value.filter(lambda p: bool(p.strip()))  # all spaces counts as empty
    with_root = draw(st.booleans())
    root = st.none() | st.text(st.sampled_from(string.ascii_lowercase + "/._-"), min_size=1).map(
        lambda r: "/" + r
    )
    rows = draw(
        st.lists(
            st.tuples(
                addresses(encoding.letters), user_name, password, root if with_root else st.none()
            ),
            min_size=1,
            max_size=6,
            unique_by=lambda row: row[0].lower(),
        )
    )
    header = ["EmailAddress", "UserName", "Password"] + (["UserRoot"] if with_root else [])
    order = draw(st.permutations(range(len(header))))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    out = io.StringIO(newline="")
    writer = csv.writer(
        out,
        delimiter=delimiter,
        lineterminator=draw(st.sampled_from(["\r\n", "\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerow([header[i] for i in order])
    for row in rows:
        cells = [*row[:3], row[3] or ""][: len(header)]
        writer.writerow([cells[i] for i in order])
    text = out.getvalue() + draw(st.sampled_from(["", "\r\n", "\r\n\r\n", delimiter * 2 + "\r\n"]))
    data = encoding.bom + text.encode(encoding.codec)
    return data, [(r[0], r[1], r[2], r[3] if with_root else None) for r in rows]


@settings(max_examples=150, deadline=None)
@given(csv_files())
def test_written_rows_parse_back(
    case: tuple[bytes, list[tuple[str, str, str, str | None]]],
) -> None:
    data, expected = case
    parsed = read_users_csv(data)
    assert [
        (r.email_address, r.user_name, r.password, r.user_root) for r in parsed.rows
    ] == expected
    assert [r.row for r in parsed.rows] == list(range(2, len(expected) + 2))


@given(st.text(st.sampled_from(ATEXT + ".@-ø "), max_size=30))
def test_quick_address_check_agrees_with_careful_one(address: str) -> None:
    if _is_plain_address(address):
        assert _address_problem_in_detail(address) is None
    assert (email_address_problem(address) is None) == (_address_problem_in_detail(address) is None)


HEADERS = st.sampled_from(
    [b"", b"EmailAddress,UserName,Password\r\n", b"\xef\xbb\xbfEmailAddress;UserName;Password\n"]
)


@settings(max_examples=300, deadline=None)
@given(HEADERS, st.binary(max_size=200) | st.text(max_size=80).map(str.encode))
def test_any_bytes_give_rows_or_problems(header: bytes, body: bytes) -> None:
    try:
        parsed = read_users_csv(header + body)
    except CsvValidationError as error:
        assert error.problems
        assert all(p.reason for p in error.problems)
    else:
        assert parsed.rows
