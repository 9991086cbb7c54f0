"""Maildir++ naming, flag letters and keyword files, as Dovecot 2.3 writes them.

The expected values were taken from a Dovecot 2.3.19 that created the same
folders, flags and subscriptions over IMAP.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailferry.connection.body import BodyWriter, MessageBody
from mailferry.errors import FolderError
from mailferry.stores.maildir_files import FileName, base_name, body_vsize
from mailferry.stores.maildir_keywords import (
    KeywordTable,
    flags_from_letters,
    info_letters,
)
from mailferry.stores.maildir_names import (
    folder_dirname,
    folder_from_dirname,
    parents,
    parse_subscriptions,
    render_subscriptions,
)


@pytest.mark.parametrize(
    ("folder", "dirname"),
    [
        ("Økonomi & Løn", ".&ANg-konomi &- L&APg-n"),
        ("Indbakke.Æbler", ".Indbakke.&AMY-bler"),
        ("A&B", ".A&-B"),
        ("del\x7f", ".del&AH8-"),
        ("æøå.😀", ".&AOYA+ADl-.&2D3eAA-"),
        ("a.~b", ".a.~b"),
        ("star*", ".star*"),
        (" lead", ". lead"),
        ("new", ".new"),
        ("inbox.Sub", ".INBOX.Sub"),
    ],
)
def test_folder_directories_are_named_as_dovecot_names_them(folder: str, dirname: str) -> None:
    assert folder_dirname(folder) == dirname
    assert folder_from_dirname(dirname) == folder.replace("inbox.", "INBOX.")


@pytest.mark.parametrize("inbox", ["INBOX", "inbox", "InBoX"])
def test_inbox_is_the_mailbox_directory_itself(inbox: str) -> None:
    assert folder_dirname(inbox) is None


def test_dovecot_internal_entries_are_not_folders() -> None:
    for name in ("cur", "new", "tmp", "dovecot-keywords", ".", "..", ".a..b", ".a."):
        assert folder_from_dirname(name) is None


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4))
def test_representable_names_round_trip(parts: list[str]) -> None:
    folder = ".".join(parts)
    try:
        dirname = folder_dirname(folder)
    except FolderError:
        return
    if dirname is None:
        return
    assert "/" not in dirname and "\0" not in dirname and dirname not in (".", "..")
    assert dirname.isascii() and len(dirname.encode()) <= 255
    decoded = folder_from_dirname(dirname)
    assert decoded is not None
    assert decoded.split(".")[1:] == folder.split(".")[1:]


def test_parents_lists_every_ancestor() -> None:
    assert parents("A.B.C") == ["A", "A.B"]
    assert parents("A") == []


def test_subscriptions_file_is_dovecots_version_2() -> None:
    folders = ["a.~b", "star*", "del\x7f", "Økonomi & Løn", "Sub.Child", "æøå.😀"]
    text = render_subscriptions(folders)
    dovecot_wrote = (
        "V\t2\n\na\t~b\nstar*\ndel&AH8-\n&ANg-konomi &- L&APg-n\nSub\tChild\n&AOYA+ADl-\t&2D3eAA-\n"
    )
    assert text == dovecot_wrote
    assert parse_subscriptions(text) == folders
    assert parse_subscriptions("Old\nOld.Sub\n") == ["Old", "Old.Sub"]


def test_flag_letters_are_sorted_system_then_keywords() -> None:
    table = KeywordTable()
    for keyword in ("$Forwarded", "Custom1"):
        table.add(keyword)
    assert info_letters(("\\Seen", "$Forwarded", "Custom1"), table) == "Sab"
    assert info_letters(("\\Flagged", "Custom1", "\\Recent", "Unknown"), table) == "Fb"
    letters = info_letters(("\\Draft", "\\Flagged", "\\Answered", "\\Seen", "\\Deleted"), table)
    assert letters == "DFRST"
    assert set(flags_from_letters("DFRSTPab", table)) == {
        "\\Draft",
        "\\Flagged",
        "\\Answered",
        "\\Seen",
        "\\Deleted",
        "$Forwarded",
        "Custom1",
    }


def test_keyword_table_reads_and_writes_dovecot_keywords() -> None:
    table = KeywordTable.parse("0 $Forwarded\n1 Custom1\nbad line\n3 Gap\n")
    assert table.letter("$Forwarded") == "a" and table.letter("Gap") == "d"
    assert table.add("New") and table.letter("New") == "c"  # the gap is reused
    assert table.render() == "0 $Forwarded\n1 Custom1\n2 New\n3 Gap\n"


def test_a_folder_keeps_at_most_26_keywords() -> None:
    table = KeywordTable()
    assert all(table.add(f"K{n}") for n in range(26))
    assert table.full and not table.add("K26") and table.letter("K26") is None
    assert table.letter("K25") == "z"
    assert info_letters(("K26", "K0"), table) == "a"


def test_file_names_carry_uid_uidvalidity_and_sizes() -> None:
    base = base_name(1589703072, 7, 1700000000, 39, 41)
    assert base == "1589703072.M7V1700000000.mailferry,S=39,W=41"
    parsed = FileName.parse(base + ":2,FSa")
    assert (parsed.base, parsed.letters) == (base, "FSa")
    assert parsed.our_uid(1700000000) == 7
    assert parsed.our_uid(1700000001) is None  # moved here from another folder
    assert parsed.size_hint() == 39
    dovecots = FileName.parse("1795550897.M647486P25483.vm,S=36,W=40:2,Sab")
    assert dovecots.our_uid(1700000000) is None and dovecots.size_hint() == 40
    assert FileName.parse("1234.M1P1.host").letters == ""


@pytest.mark.parametrize(
    ("data", "vsize"),
    [(b"a\r\nb\r\n", 6), (b"a\nb\n", 6), (b"a\rb", 3), (b"\n\r\n\n", 6), (b"", 0)],
)
def test_virtual_size_counts_bare_lf_as_crlf(data: bytes, vsize: int) -> None:
    assert body_vsize(MessageBody.from_bytes(data)) == vsize


def test_virtual_size_across_chunk_boundaries() -> None:
    chunk = 1024 * 1024  # MessageBody.chunks() default: the CR ends the first chunk
    data = b"x" * (chunk - 1) + b"\r" + b"\n" + b"y\n" * 10
    writer = BodyWriter(len(data), threshold=0)
    writer.write(data)
    body = writer.finish()
    try:
        assert body.spooled and next(body.chunks()).endswith(b"\r")
        assert body_vsize(body) == len(data) + 10
    finally:
        body.close()
