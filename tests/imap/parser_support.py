"""Helpers for the response parser tests: feeding strategies and event comparison."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import MailferryError
from mailferry.imap.events import (
    Event,
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    FetchRun,
    LiteralData,
    StreamedLiteral,
)
from mailferry.imap.parser import ResponseParser

#: The parser's two ways of handing out a body literal: streamed always, whole when small.
STREAM_ALL = 0
WHOLE_DEFAULT = 256 * 1024


def merged(events: Iterable[Event]) -> list[Event]:
    """Join consecutive LiteralData chunks so chunkings can be compared."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, LiteralData) and out and isinstance(out[-1], LiteralData):
            out[-1] = LiteralData(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def normalized(events: Iterable[Event]) -> list[Event]:
    """Streamed bodies folded into their FetchResponse as bytes (the whole-body form).

    A body streamed as FetchLiteralStart / LiteralData... / FetchLiteralEnd with
    ``StreamedLiteral(n)`` in the response equals the same body handed out whole
    (``bytes`` in the response), so both parser modes can be compared.
    """
    out: list[Event] = []
    bodies: dict[str, bytearray] = {}
    current: bytearray | None = None
    for event in events:
        if isinstance(event, FetchLiteralStart):
            current = bodies[event.item] = bytearray()
        elif isinstance(event, LiteralData):
            assert current is not None, "LiteralData outside a literal"
            current += event.data
        elif isinstance(event, FetchLiteralEnd):
            assert current is not None, "FetchLiteralEnd outside a literal"
            current = None
        elif isinstance(event, FetchResponse):
            out.append(FetchResponse(event.seq, _folded(event.attributes, bodies)))
            bodies = {}
        else:
            out.append(event)
    assert current is None and not bodies, "streamed body without its FetchResponse"
    return out


def _folded(attributes: Mapping[str, object], bodies: dict[str, bytearray]) -> dict[str, object]:
    folded = dict(attributes)
    for name, value in attributes.items():
        if isinstance(value, StreamedLiteral):
            body = bodies.pop(name)
            assert len(body) == value.size, f"{name}: {len(body)} bytes, announced {value.size}"
            folded[name] = bytes(body)
    return folded


def feed_chunks(
    chunks: Iterable[bytes], *, greeting: bool = False, whole: int = WHOLE_DEFAULT
) -> list[Event]:
    """Feed ``chunks`` one after the other, draining events after each.

    Twice: by a parser that reads FETCH runs (``fetch_runs=True``) and by one
    that does not; both must give the same events (runs flattened into their
    responses) or the same error.
    """
    chunks = list(chunks)
    general = _outcome(chunks, greeting, whole, runs=False)
    with_runs = _outcome(chunks, greeting, whole, runs=True)
    if isinstance(general, Exception):
        assert isinstance(with_runs, Exception), f"only the general path failed: {general}"
        assert (type(with_runs), str(with_runs)) == (type(general), str(general))
        raise general
    assert _same(with_runs, general)
    return general


def _same(one: list[Event], other: list[Event]) -> bool:
    try:
        return one == other
    except RecursionError:  # a deeply nested value (never read by a run): compare the kinds
        return [type(event) for event in one] == [type(event) for event in other]


def feed_with_runs(
    chunks: Iterable[bytes], *, whole: int = WHOLE_DEFAULT, **limits: int
) -> list[Event]:
    """The raw events of a parser that reads FETCH runs (FetchRun not flattened)."""
    parser = ResponseParser(expect_greeting=False, max_whole_body=whole, fetch_runs=True, **limits)
    events: list[Event] = []
    for chunk in chunks:
        parser.feed(chunk)
        events.extend(parser.events())
    assert parser.next_event() is None
    return events


def flattened(events: Iterable[Event]) -> list[Event]:
    """FetchRun events replaced by the FetchResponse events they stand for."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, FetchRun):
            out.extend(event.responses())
        else:
            out.append(event)
    return out


def _outcome(
    chunks: list[bytes], greeting: bool, whole: int, *, runs: bool
) -> list[Event] | MailferryError:
    parser = ResponseParser(expect_greeting=greeting, max_whole_body=whole, fetch_runs=runs)
    events: list[Event] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            events.extend(parser.events())
        assert parser.next_event() is None
    except MailferryError as exc:
        return exc
    return flattened(events)


def parse_whole(data: bytes, *, greeting: bool = False, whole: int = WHOLE_DEFAULT) -> list[Event]:
    """Events of ``data`` fed at once, normalized (see ``normalized``)."""
    return normalized(feed_chunks([data], greeting=greeting, whole=whole))


def parse_bytewise(
    data: bytes, *, greeting: bool = False, whole: int = WHOLE_DEFAULT
) -> list[Event]:
    """Events of ``data`` fed one byte at a time, normalized (see ``normalized``)."""
    chunks = [data[i : i + 1] for i in range(len(data))]
    return normalized(feed_chunks(chunks, greeting=greeting, whole=whole))


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

    Each runs with bodies streamed and with bodies handed out whole; the
    expected events may be written in either form (compared ``normalized``).
    Use as ``test_whole, test_byte_by_byte, test_random_chunks = table_tests(CASES)``.
    """
    ids = [case[0] for case in cases]
    params = [case[1:] for case in cases]
    parametrize = pytest.mark.parametrize(("data", "expected"), params, ids=ids)
    modes = pytest.mark.parametrize("whole", [STREAM_ALL, WHOLE_DEFAULT], ids=["stream", "whole"])

    @modes
    @parametrize
    def test_whole(data: bytes, expected: list[Event], whole: int) -> None:
        assert parse_whole(data, whole=whole) == normalized(expected)

    @modes
    @parametrize
    def test_byte_by_byte(data: bytes, expected: list[Event], whole: int) -> None:
        assert parse_bytewise(data, whole=whole) == normalized(expected)

    @modes
    @parametrize
    @settings(max_examples=examples, deadline=None)
    @given(st.data())
    def test_random_chunks(
        data: bytes, expected: list[Event], whole: int, draw: st.DataObject
    ) -> None:
        cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=10))
        events = feed_chunks(split_at(data, cuts), whole=whole)
        assert normalized(events) == normalized(expected)

    return test_whole, test_byte_by_byte, test_random_chunks


def check_one_stream(cases: Sequence[Case]) -> None:
    """All cases back to back in one stream give all their events in order."""
    stream = b"".join(case[1] for case in cases)
    expected = normalized([event for case in cases for event in case[2]])
    for whole in (STREAM_ALL, WHOLE_DEFAULT):
        assert parse_whole(stream, whole=whole) == expected
        assert parse_bytewise(stream, whole=whole) == expected
