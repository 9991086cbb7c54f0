"""The lenient header reader used to label skipped items and identify messages."""

from __future__ import annotations

import datetime as dt

import pytest

from mailferry.connection.body import MessageBody
from mailferry.engine.headers import (
    decode_words,
    normalize_message_id,
    parse_date,
    read_headers,
    summarize,
)


def test_encoded_words_folding_and_first_occurrence():
    head = (
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n =?iso-8859-1?q?_aus_K=F8benhavn?=\r\n"
        b"From: =?utf-8?b?w4ZibGVy?= <aebler@example.dk>\r\n"
        b"Date: Tue, 2 Jan 2024 08:30:00 +0100\r\n"
        b"Message-ID:\r\n <abc@example.dk> (comment)\r\n"
        b"Subject: second\r\n\r\nSubject: in the body\r\n"
    )
    summary = read_headers(head)
    assert summary.subject == "Grüße aus København"
    assert summary.sender == "Æbler <aebler@example.dk>"
    assert summary.date == dt.datetime(2024, 1, 2, 7, 30, tzinfo=dt.UTC)
    assert summary.message_id == "<abc@example.dk>"


@pytest.mark.parametrize(
    "head",
    [b"", b"no colon here\r\n\r\n", b"\xff\xfe\x00garbage", b"Subject\r\n", b": empty name\n\n"],
)
def test_garbage_gives_empty_values_not_errors(head: bytes):
    summary = read_headers(head)
    assert (summary.subject, summary.sender, summary.date, summary.message_id) == (
        "",
        "",
        None,
        None,
    )


def test_raw_8bit_and_broken_encoded_words_survive():
    summary = read_headers(b"Subject: caf\xe9 =?bogus-charset?q?x?=\nFrom: \xc3\x85se\n\n")
    assert summary.subject == "café =?bogus-charset?q?x?="
    assert summary.sender == "Åse"
    assert decode_words("=?utf-8?b?not base64!?=") == "=?utf-8?b?not base64!?="


def test_dates_are_aware_or_none():
    assert parse_date("1 Jan 2024 10:00:00") == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert parse_date("yesterday") is None
    assert parse_date("") is None


def test_message_id_spellings_collapse():
    assert normalize_message_id("  <a@b>  ") == "<a@b>"
    assert normalize_message_id("<a@b> <c@d>") == "<a@b>"
    assert normalize_message_id("  bare-id\t x ") == "bare-id x"
    assert normalize_message_id("   ") is None
    assert normalize_message_id(None) is None


def test_summarize_reads_only_the_head_of_a_large_body():
    body = MessageBody.from_bytes(b"Subject: big\r\nMessage-ID: <big@x>\r\n\r\n" + b"x" * 500_000)
    summary = summarize(body)
    assert (summary.subject, summary.message_id) == ("big", "<big@x>")
