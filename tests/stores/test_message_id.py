"""Message-ID parsing: lenient, and the same on both sides of a migration."""

from __future__ import annotations

import pytest

from mailferry.stores.message_id import header_end, parse_message_id


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Message-ID: <a@example.com>\r\n\r\n", "<a@example.com>"),
        (b"message-id:<a@example.com>\r\n", "<a@example.com>"),
        (b"MESSAGE-ID  :  <a@example.com>  \r\n", "<a@example.com>"),
        (b"Message-ID:\r\n <folded@example.com>\r\n\r\n", "<folded@example.com>"),
        (b"Message-ID:\n\t<lf-only@example.com>\nSubject: x\n\nbody", "<lf-only@example.com>"),
        (b"Message-ID: no-brackets@example.com\r\n", "no-brackets@example.com"),
        (b"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n", "<first@x>"),
        (b"Subject: none\r\n\r\n", None),
        (b"Message-ID:   \r\n\r\n", None),
        (b"", None),
        (b"Resent-Message-ID: <r@x>\r\nX-Message-ID: <x@x>\r\n\r\n", None),
        (b"Subject: s\r\n\r\nMessage-ID: <in-body@x>\r\n", None),
        (b"Message-ID: <\xe6\xf8\xe5@x>\r\n", "<\udce6\udcf8\udce5@x>"),
        (b"Message-ID: <utf8-\xc3\xa6@x>\r\n", "<utf8-æ@x>"),
    ],
)
def test_message_ids(header: bytes, expected: str | None) -> None:
    assert parse_message_id(header) == expected


def test_header_end_finds_the_blank_line() -> None:
    assert header_end(b"A: b\r\n\r\nbody") == 8
    assert header_end(b"A: b\n\nbody") == 6
    assert header_end(b"A: b\r\n") is None
