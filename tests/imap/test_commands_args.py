"""Argument builders: exact command lines, batching, SASL initial responses."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mailferry.errors import LocalProtocolError
from mailferry.imap.commands import (
    AppendMessage,
    Arg,
    CommandEncoder,
    QresyncParams,
    append_args,
    batch_for_multiappend,
    enable_args,
    fetch_items,
    id_args,
    list_args,
    sasl_plain_initial,
    select_args,
    status_args,
    uid_fetch_args,
    uid_search_args,
    uid_store_args,
    xoauth2_initial,
)


def line(command: str, args: tuple[Arg, ...]) -> bytes:
    """The whole command as one line (LITERAL+ so literals stay inline)."""
    segments = CommandEncoder(["LITERAL+"]).encode("T", command, *args)
    assert len(segments) == 1 and not segments[0].wait_for_continuation
    return b"".join(bytes(p) for p in segments[0].parts)


ITEMS = fetch_items("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")
WHEN = datetime(2023, 11, 9, 8, 7, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ("UID FETCH", uid_fetch_args([3, 1, 2, 10], ITEMS),
         b"T UID FETCH 1:3,10 (UID FLAGS INTERNALDATE BODY.PEEK[])\r\n"),
        ("UID FETCH", uid_fetch_args("1:*", fetch_items("UID")), b"T UID FETCH 1:* (UID)\r\n"),
        ("UID FETCH", uid_fetch_args([5], fetch_items("FLAGS"), changedsince=12345),
         b"T UID FETCH 5 (FLAGS) (CHANGEDSINCE 12345)\r\n"),
        ("UID FETCH", uid_fetch_args("1:*", fetch_items("FLAGS"), changedsince=7, vanished=True),
         b"T UID FETCH 1:* (FLAGS) (CHANGEDSINCE 7 VANISHED)\r\n"),
        ("UID STORE", uid_store_args([1, 2], "+", ["\\Seen", "$Forwarded"]),
         b"T UID STORE 1:2 +FLAGS.SILENT (\\Seen $Forwarded)\r\n"),
        ("UID STORE", uid_store_args("4", "-", ["\\Deleted"], silent=False),
         b"T UID STORE 4 -FLAGS (\\Deleted)\r\n"),
        ("UID STORE", uid_store_args([9], "", [], unchangedsince=0),
         b"T UID STORE 9 (UNCHANGEDSINCE 0) FLAGS.SILENT ()\r\n"),
        ("UID SEARCH", uid_search_args("UID 1:* NOT DELETED"),
         b"T UID SEARCH UID 1:* NOT DELETED\r\n"),
        ("UID SEARCH", uid_search_args("ALL", esearch_return=["MIN", "MAX", "COUNT"]),
         b"T UID SEARCH RETURN (MIN MAX COUNT) ALL\r\n"),
        ("UID SEARCH", uid_search_args("ALL", esearch_return=[]),
         b"T UID SEARCH RETURN () ALL\r\n"),
        ("UID SEARCH", uid_search_args(["HEADER", "Message-ID", "<a b@c>"]),
         b'T UID SEARCH HEADER Message-ID "<a b@c>"\r\n'),
        ("UID SEARCH", uid_search_args(["SUBJECT", "Løn"], charset="UTF-8"),
         b"T UID SEARCH CHARSET UTF-8 SUBJECT {4+}\r\nL\xc3\xb8n\r\n"),
        ("SELECT", select_args("INBOX"), b"T SELECT INBOX\r\n"),
        ("SELECT", select_args("Sendt post", condstore=True),
         b'T SELECT "Sendt post" (CONDSTORE)\r\n'),
        ("EXAMINE", select_args("A", qresync=QresyncParams(67890007, 90060115194045000)),
         b"T EXAMINE A (QRESYNC (67890007 90060115194045000))\r\n"),
        ("SELECT", select_args("A", condstore=True, qresync=QresyncParams(1, 2, [5, 1, 2, 3])),
         b"T SELECT A (QRESYNC (1 2 1:3,5))\r\n"),
        ("SELECT", select_args("A", qresync=QresyncParams(1, 2, [])),
         b"T SELECT A (QRESYNC (1 2))\r\n"),
        ("STATUS", status_args("Økonomi & Løn", ["MESSAGES", "UIDNEXT", "UIDVALIDITY"]),
         b'T STATUS "&ANg-konomi &- L&APg-n" (MESSAGES UIDNEXT UIDVALIDITY)\r\n'),
        ("LIST", list_args("", "*"), b'T LIST "" *\r\n'),
        ("LIST", list_args("", "%"), b'T LIST "" %\r\n'),
        ("LIST", list_args("Indbakke/Æbler", "Entwürfe/%"),
         b"T LIST Indbakke/&AMY-bler Entw&APw-rfe/%\r\n"),
        ("LIST", list_args("", "Sendt post*"), b'T LIST "" "Sendt post*"\r\n'),
        ("LIST", list_args("", "R&D*"), b'T LIST "" R&-D*\r\n'),
        ("LIST", list_args("", 'a"b'), b'T LIST "" "a\\"b"\r\n'),
        ("LIST", list_args("", ""), b'T LIST "" ""\r\n'),
        ("LIST", list_args("", "nil"), b'T LIST "" "nil"\r\n'),
        ("LIST", list_args("", "*", return_special_use=True),
         b'T LIST "" * RETURN (SPECIAL-USE)\r\n'),
        ("LIST", list_args("", "*", return_special_use=True, return_status=["MESSAGES", "UIDNEXT"]),
         b'T LIST "" * RETURN (SPECIAL-USE STATUS (MESSAGES UIDNEXT))\r\n'),
        ("LIST", list_args("", "%", return_status=["UIDVALIDITY"]),
         b'T LIST "" % RETURN (STATUS (UIDVALIDITY))\r\n'),
        ("ENABLE", enable_args("CONDSTORE", "QRESYNC"), b"T ENABLE CONDSTORE QRESYNC\r\n"),
        ("ID", id_args(None), b"T ID NIL\r\n"),
        ("ID", id_args({}), b"T ID ()\r\n"),
        ("ID", id_args({"name": "mailferry", "version": "0.1.0"}),
         b'T ID ("name" "mailferry" "version" "0.1.0")\r\n'),
        ("ID", id_args({"os": 'x "y"'}), b'T ID ("os" "x \\"y\\"")\r\n'),
        ("ID", id_args({"vendor": "Løn"}), b'T ID ("vendor" {4+}\r\nL\xc3\xb8n)\r\n'),
        ("APPEND", append_args("INBOX", [AppendMessage(b"hi")]), b"T APPEND INBOX {2+}\r\nhi\r\n"),
        ("APPEND", append_args("INBOX", [AppendMessage(b"hi", ("\\Seen",), WHEN)]),
         b'T APPEND INBOX (\\Seen) "09-Nov-2023 08:07:06 +0000" {2+}\r\nhi\r\n'),
        ("APPEND",
         append_args("Økonomi & Løn", [AppendMessage(b"x", (), WHEN), AppendMessage(b"")]),
         b'T APPEND "&ANg-konomi &- L&APg-n" "09-Nov-2023 08:07:06 +0000" {1+}\r\nx {0+}\r\n\r\n'),
    ],
)  # fmt: skip
def test_builder_lines(command: str, args: tuple[Arg, ...], expected: bytes) -> None:
    assert line(command, args) == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda: append_args("INBOX", []),
        lambda: append_args("INBOX", [AppendMessage(b"x", ("bad flag",))]),
        lambda: append_args("INBOX", [AppendMessage(b"x", (), datetime(2020, 1, 1))]),
        lambda: fetch_items(),
        lambda: fetch_items("UID", ""),
        lambda: fetch_items("UID\r\n"),
        lambda: fetch_items(" UID"),
        lambda: uid_fetch_args([], ITEMS),
        lambda: uid_fetch_args([0], ITEMS),
        lambda: uid_fetch_args([2**32], ITEMS),
        lambda: uid_fetch_args("", ITEMS),
        lambda: uid_fetch_args("1 2", ITEMS),
        lambda: uid_fetch_args("1:*\r\n", ITEMS),
        lambda: uid_fetch_args([1], ITEMS, vanished=True),
        lambda: uid_fetch_args([1], ITEMS, changedsince=0),
        lambda: uid_store_args([1], "*", ["\\Seen"]),  # type: ignore[arg-type]
        lambda: uid_store_args([1], "+", ["\\Seen x"]),
        lambda: uid_store_args([1], "+", ["\\Seen"], unchangedsince=-1),
        lambda: uid_search_args(""),
        lambda: uid_search_args([]),
        lambda: uid_search_args("SUBJECT Løn"),
        lambda: uid_search_args("ALL\r\nT2 LOGOUT"),
        lambda: uid_search_args("ALL", esearch_return=["MIN MAX"]),
        lambda: QresyncParams(0, 1),
        lambda: QresyncParams(1, 0),
        lambda: QresyncParams(2**32, 1),
        lambda: select_args("A", qresync=QresyncParams(1, 1, [0])),
        lambda: status_args("INBOX", []),
        lambda: status_args("INBOX", ["MESSAGES UIDNEXT"]),
        lambda: list_args("", "*", return_status=[]),
        lambda: enable_args(),
        lambda: enable_args("QRESYNC CONDSTORE"),
        lambda: id_args({f"k{i}": "v" for i in range(31)}),
        lambda: id_args({"k" * 31: "v"}),
        lambda: id_args({"k": "v" * 1025}),
        lambda: sasl_plain_initial("us\0er", "pw"),
        lambda: sasl_plain_initial("user", "p\0w"),
        lambda: sasl_plain_initial("user", "pw", "adm\0in"),
        lambda: xoauth2_initial("us\x01er", "tok"),
        lambda: xoauth2_initial("user", "to\x01k"),
        lambda: list(batch_for_multiappend([], max_count=0)),
        lambda: list(batch_for_multiappend([], max_bytes=0)),
    ],
)
def test_builder_errors(build: Callable[[], Any]) -> None:
    with pytest.raises(LocalProtocolError):
        args = build()
        if isinstance(args, tuple):
            CommandEncoder().encode("T", "CMD", *args)


def _sizes(batches: list[list[AppendMessage]]) -> list[list[int]]:
    return [[m.size for m in batch] for batch in batches]


def _messages(*sizes: int) -> list[AppendMessage]:
    return [AppendMessage(b"x" * size) for size in sizes]


@pytest.mark.parametrize(
    ("sizes", "max_count", "max_bytes", "expected"),
    [
        ((), 3, 100, []),
        ((1, 1, 1, 1, 1, 1, 1), 3, 100, [[1, 1, 1], [1, 1, 1], [1]]),
        ((40, 40, 40), 10, 100, [[40, 40], [40]]),
        ((50, 50, 50), 10, 100, [[50, 50], [50]]),
        ((10, 200, 10), 10, 100, [[10], [200], [10]]),
        ((200,), 10, 100, [[200]]),
        ((0, 0, 0), 2, 1, [[0, 0], [0]]),
        ((60, 30, 20, 90, 5), 50, 100, [[60, 30], [20], [90, 5]]),
    ],
)
def test_batch_for_multiappend(
    sizes: tuple[int, ...], max_count: int, max_bytes: int, expected: list[list[int]]
) -> None:
    batches = list(
        batch_for_multiappend(_messages(*sizes), max_count=max_count, max_bytes=max_bytes)
    )
    assert _sizes(batches) == expected


def test_batch_keeps_order_and_objects() -> None:
    messages = [AppendMessage(bytes([i]) * (i + 1)) for i in range(120)]
    batches = list(batch_for_multiappend(iter(messages)))
    assert [m for batch in batches for m in batch] == messages
    assert [len(b) for b in batches] == [50, 50, 20]
    assert batch_for_multiappend(messages[:1], max_bytes=1).__next__()[0] is messages[0]


def test_batch_counts_memoryview_bytes() -> None:
    view = memoryview(bytearray(40)).cast("Q")  # 5 items, 40 bytes
    batches = list(batch_for_multiappend([AppendMessage(view)] * 3, max_bytes=80))
    assert [len(b) for b in batches] == [2, 1]


@pytest.mark.parametrize(
    ("args", "decoded"),
    [
        (("user", "secret"), b"\0user\0secret"),
        (("user", "secret", "admin"), b"admin\0user\0secret"),
        (("jørgen", "pæs"), "\0jørgen\0pæs".encode()),
        (("u", ""), b"\0u\0"),
    ],
)
def test_sasl_plain_initial(args: tuple[str, ...], decoded: bytes) -> None:
    text = sasl_plain_initial(*args)
    assert base64.b64decode(text, validate=True) == decoded


def test_sasl_plain_known_vector() -> None:
    # RFC 4616 example: authzid "Ursel", authcid "Kurt", password "xipj3plmq".
    assert sasl_plain_initial("Kurt", "xipj3plmq", "Ursel") == "VXJzZWwAS3VydAB4aXBqM3BsbXE="


def test_xoauth2_initial() -> None:
    # The example from Google's XOAUTH2 documentation.
    text = xoauth2_initial("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert text == (
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )


def test_qresync_known_uids_frozen() -> None:
    uids = [1, 2]
    params = QresyncParams(1, 2, uids)
    uids.append(3)
    assert params.known_uids == (1, 2)
