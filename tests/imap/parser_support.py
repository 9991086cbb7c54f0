"""Helpers for the response parser tests: feeding strategies and event comparison."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.imap.events import Event, LiteralData
from mailferry.imap.parser import ResponseParser


def merged(events: Iterable[Event]) -> list[Event]:
    """Join consecutive LiteralData chunks so chunkings can be compared."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, LiteralData) and out and isinstance(out[-1], LiteralData):
            out[-1] = LiteralData(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def feed_chunks(chunks: Iterable[bytes], *, greeting: bool = False) -> list[Event]:
    """Feed ``chunks`` one after the other, draining events after each."""
    parser = ResponseParser(expect_greeting=greeting)
    events: list[Event] = []
    for chunk in chunks:
        parser.feed(chunk)
        events.extend(parser.events())
    assert parser.next_event() is None
    return events


def parse_whole(data: bytes, *, greeting: bool = False) -> list[Event]:
    return merged(feed_chunks([data], greeting=greeting))


def parse_bytewise(data: bytes, *, greeting: bool = False) -> list[Event]:
    return merged(feed_chunks([data[i : i + 1] for i in range(len(data))], greeting=greeting))


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def date(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset_minutes: int
) -> dt.datetime:
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)


Case = tuple[str, bytes, list[Event]]


def table_tests(
    cases: Sequence[Case], *, examples: int = 15
) -> tuple[Callable[..., None], Callable[..., None], Callable[..., None]]:
    """The three checks every table gets: fed whole, byte by byte, in random chunks.

    Use as ``test_whole, test_byte_by_byte, test_random_chunks = table_tests(CASES)``.
    """
    ids = [case[0] for case in cases]
    params = [case[1:] for case in cases]
    parametrize = pytest.mark.parametrize(("data", "expected"), params, ids=ids)

    @parametrize
    def test_whole(data: bytes, expected: list[Event]) -> None:
        assert parse_whole(data) == expected

    @parametrize
    def test_byte_by_byte(data: bytes, expected: list[Event]) -> None:
        assert parse_bytewise(data) == expected

    @parametrize
    @settings(max_examples=examples, deadline=None)
    @given(st.data())
    def test_random_chunks(data: bytes, expected: list[Event], draw: st.DataObject) -> None:
        cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=10))
        assert merged(feed_chunks(split_at(data, cuts))) == expected

    return test_whole, test_byte_by_byte, test_random_chunks


def check_one_stream(cases: Sequence[Case]) -> None:
    """All cases back to back in one stream give all their events in order."""
    stream = b"".join(case[1] for case in cases)
    expected = [event for case in cases for event in case[2]]
    assert parse_whole(stream) == expected
    assert parse_bytewise(stream) == expected
