"""FETCH runs (``fetch_runs=True``): the same events as the general path, in any chunking.

``feed_chunks`` parses every stream twice, with and without runs, and
requires the same events (runs flattened) or the same error; these tests
make streams where runs matter: many responses of a few learned shapes,
odd values among them, other responses in between, limits hit mid-run.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import MailferryError, ResponseTooLarge
from mailferry.imap.events import Event, FetchResponse, FetchRun
from mailferry.imap.parser import ResponseParser
from tests.imap.parser_support import (
    STREAM_ALL,
    WHOLE_DEFAULT,
    feed_chunks,
    feed_with_runs,
    flattened,
    normalized,
    split_at,
)

_DATES = [
    b"17-Jul-1996 02:44:25 -0700",
    b" 1-Jan-2024 23:59:60 +0000",
    b"29-Feb-2024 12:00:00 +0530",
    b"31-Feb-2024 00:00:00 +0000",  # impossible: an error on either path
    b"17-Jul-1996 02:44:25 -07:0",  # malformed
]
_FLAGS = [b"()", b"(\\Seen)", b"(\\Seen $Forwarded)", b"(\\Seen  x)", b"(a\\b)", b"(\\Seen [x])"]
_BODIES = [b"", b"hello\r\n", b")\r\n* 2 FETCH (UID 2)\r\n", b"x" * 300, b"{5}\r\nabc"]


def _fetch(seq: int, layout: int, flags: bytes, date: bytes, body: bytes) -> bytes:
    if layout == 0:
        head = b'* %d FETCH (UID %d FLAGS %s INTERNALDATE "%s" BODY[] {%d}\r\n'
        return head % (seq, seq, flags, date, len(body)) + body + b")\r\n"
    if layout == 1:
        return b"* %d FETCH (UID %d FLAGS %s)\r\n" % (seq, seq + 100, flags)
    if layout == 2:
        head = b"* %d FETCH (UID %d RFC822.SIZE %d MODSEQ (%d) BODY[] {%d}\r\n"
        return head % (seq, seq, len(body), seq * 7, len(body)) + body + b")\r\n"
    return b"* %d FETCH (FLAGS %s UID %d)\r\n" % (seq, flags, seq)


_OTHERS = [b"* 9 EXISTS\r\n", b"A1 OK done\r\n", b"* 3 FETCH (UID 3 BODY[] {2}\r\nab FLAGS ())\r\n"]
_RESPONSE = st.one_of(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(_FLAGS[:3]),
        st.sampled_from(_DATES[:3]),
        st.sampled_from(_BODIES),
    ),
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(_FLAGS),
        st.sampled_from(_DATES),
        st.sampled_from(_BODIES),
    ),
    st.sampled_from(_OTHERS),
)


def _stream(responses: list[tuple[int, bytes, bytes, bytes] | bytes]) -> bytes:
    out = []
    for seq, response in enumerate(responses, start=1):
        out.append(response if isinstance(response, bytes) else _fetch(seq, *response))
    return b"".join(out)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_RESPONSE, min_size=1, max_size=12),
    st.sampled_from([STREAM_ALL, 100, WHOLE_DEFAULT]),
    st.data(),
)
def test_runs_read_like_the_general_path(
    responses: list[tuple[int, bytes, bytes, bytes] | bytes], whole: int, draw: st.DataObject
) -> None:
    data = _stream(responses)
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=12))
    for chunks in ([data], split_at(data, cuts)):
        with contextlib.suppress(MailferryError):  # the same error from both is fine
            feed_chunks(chunks, whole=whole)  # compares both paths


@pytest.mark.parametrize("whole", [STREAM_ALL, WHOLE_DEFAULT])
def test_runs_byte_by_byte(whole: int) -> None:
    responses = [(0, b"(\\Seen)", _DATES[0], body) for body in _BODIES]
    responses += [(1, b"()", _DATES[0], b""), (3, b"(\\Seen)", _DATES[0], b"")] * 2
    data = _stream(responses)  # type: ignore[arg-type]
    bytewise = feed_chunks([data[i : i + 1] for i in range(len(data))], whole=whole)
    assert normalized(bytewise) == normalized(feed_chunks([data], whole=whole))


def test_a_big_fetch_comes_in_runs() -> None:
    data = _stream([(0, b"(\\Seen)", _DATES[0], b"body %d\r\n" % n) for n in range(50)])
    events = feed_with_runs([data[:3000], data[3000:]])
    runs = [event for event in events if isinstance(event, FetchRun)]
    assert runs and sum(len(run.entries) for run in runs) >= 45
    responses = flattened(events)
    assert len(responses) == 50 and all(isinstance(e, FetchResponse) for e in responses)
    assert responses == feed_chunks([data])
    first = responses[7]
    assert isinstance(first, FetchResponse)
    assert first.attributes["BODY[]"] == b"body 7\r\n" and first.flags == ("\\Seen",)


def test_a_run_waits_for_the_rest_of_a_body() -> None:
    data = _stream([(0, b"()", _DATES[0], b"abcdef")] * 3)
    parser = ResponseParser(expect_greeting=False, fetch_runs=True)
    parser.feed(data[:-5])
    events: list[Event] = list(parser.events())
    assert not parser.idle and parser.buffered > 0
    parser.feed(data[-5:])
    events += parser.events()
    assert parser.idle
    assert flattened(events) == feed_chunks([data])


@pytest.mark.parametrize(
    ("limits", "before"),
    [({"max_literal_size": 50}, 3), ({"max_line_length": 100}, 4)],
)
def test_limits_hit_inside_a_run(limits: dict[str, int], before: int) -> None:
    feed_chunks([_stream([(0, b"()", _DATES[0], b"x")] * 2)])  # learn the shape
    data = _stream([(0, b"()", _DATES[0], b"x")] * 3 + [(0, b"()", _DATES[0], b"y" * 80)])
    data += _stream([(0, b"(" + b"\\Seen " * 20 + b"x)", _DATES[0], b"x")])
    outcomes = []
    for runs in (False, True):
        parser = ResponseParser(expect_greeting=False, fetch_runs=runs, **limits)
        parser.feed(data)
        events: list[Event] = []
        with pytest.raises(ResponseTooLarge) as raised:
            events.extend(parser.events())
        outcomes.append((flattened(events), str(raised.value)))
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][0]) == before
