"""Helpers for the response parser tests: feeding strategies and event comparison."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

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
