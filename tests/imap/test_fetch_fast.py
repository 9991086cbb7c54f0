"""The FETCH fast path (``mailferry.imap.fetch_fast``) reads exactly what the token path reads.

Shapes are learned globally, so every check runs twice: the first pass may
learn a shape, the second goes through it (and earlier examples' shapes
meet later examples' values).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import RemoteProtocolError
from mailferry.imap.events import Event, FetchResponse, StreamedLiteral
from mailferry.imap.fetch import parse_fetch
from mailferry.imap.fetch_fast import fast_fetch
from mailferry.imap.tokenizer import InlineLiteral, Token, tokenize
from tests.imap.parser_support import STREAM_ALL, WHOLE_DEFAULT, feed_chunks, normalized

_FLAG = st.sampled_from(["\\Seen", "\\Answered", "\\*", "$Forwarded", "NonJunk", "Wichtig", "\\"])
_ATOMISH = st.sampled_from(["foo", "\\Inbox", "NIL", "12", "007", "a]b", "x[y]"])
_VALUES = st.one_of(
    st.integers(0, 2**70).map(str),
    st.lists(_FLAG, max_size=4).map(lambda f: "(" + " ".join(f) + ")"),
    st.lists(_ATOMISH, max_size=4).map(lambda f: "(" + " ".join(f) + ")"),
    st.sampled_from(['"17-Jul-1996 02:44:25 -0700"', '" 1-Jan-2024 00:00:00 +0000"', '"x"', '""']),
    st.sampled_from(['"31-Feb-2024 00:00:00 +0000"', '"a\\"b"', "NIL", "(1 2)", "(5)"]),
)
_NAMES = st.sampled_from(
    [
        "UID",
        "RFC822.SIZE",
        "FLAGS",
        "INTERNALDATE",
        "MODSEQ",
        "X-GM-LABELS",
        "X-FOO",
        "RFC822",
        "uid",
    ]
)


_NUMBER = st.integers(0, 2**70).map(str)
_FLAGS = st.lists(_FLAG, max_size=4).map(lambda f: "(" + " ".join(f) + ")")
_DATE = st.sampled_from(['"17-Jul-1996 02:44:25 -0700"', '" 1-Jan-2024 00:00:00 +0000"'])
_ITEMS = st.one_of(
    st.tuples(st.sampled_from(["UID", "RFC822.SIZE", "X-GM-MSGID"]), _NUMBER),
    st.tuples(st.just("FLAGS"), _FLAGS),
    st.tuples(st.just("INTERNALDATE"), _DATE),
    st.tuples(st.just("MODSEQ"), _NUMBER.map(lambda n: f"({n})")),
    st.tuples(_NAMES, _VALUES),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ITEMS, max_size=6), st.booleans())
def test_fast_path_agrees_with_token_path(items: list[tuple[str, str]], with_body: bool) -> None:
    """fetch.fast_fetch (the hot path) must give what the general token reader gives."""
    inner = " ".join(f"{name} {value}" for name, value in items)
    ending = (" BODY[]" if inner else "BODY[]") if with_body else ")"
    text = (" (" + inner + ending).encode()
    tokens: list[Token] = list(tokenize(text))
    if with_body:
        tokens += [StreamedLiteral(1), b")"]
    try:
        slow: dict[str, object] | None = dict(parse_fetch(tokens, 1).attributes)
    except RemoteProtocolError:
        slow = None
    try:
        fast = fast_fetch(text)
    except RemoteProtocolError:
        assert slow is None
        return
    assert fast_fetch(text) == fast  # the second time through the shape it may have learned
    if fast is not None:
        assert slow is not None
        attributes, body = fast
        assert body == (b"BODY[]" if with_body else None)
        if with_body:
            attributes = {**attributes, "BODY[]": StreamedLiteral(1)}
        assert attributes == slow


def test_a_learned_shape_reads_other_values_like_the_general_path() -> None:
    first = b' (UID 1 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" MODSEQ (5) BODY[]'
    assert fast_fetch(first) is not None
    for text in (
        b' (UID 22 FLAGS () INTERNALDATE " 1-Jan-2024 00:00:00 +0000" MODSEQ (6) BODY[]',
        b' (UID 3 FLAGS (\\Seen $X) INTERNALDATE "17-Jul-1996 02:44:25 -0700" MODSEQ (7) BODY[]',
        b' (UID 4 FLAGS (\\Seen) INTERNALDATE "x" MODSEQ (7) BODY[]',
        b' (UID 5 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" MODSEQ (1 2) BODY[]',
        b' (UID 6 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" MODSEQ (7) BODY[1]',
        b" (UID " + b"9" * 40 + b' FLAGS () INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
        b" MODSEQ (7) BODY[]",
    ):
        tokens: list[Token] = [*tokenize(text), StreamedLiteral(1), b")"]
        try:
            slow: dict[str, object] | None = dict(parse_fetch(tokens, 1).attributes)
        except RemoteProtocolError:
            slow = None
        try:
            fast = fast_fetch(text)
        except RemoteProtocolError:
            assert slow is None
            continue
        if fast is not None:
            attributes, body = fast
            assert body is not None and slow is not None
            assert {**attributes, body.decode(): StreamedLiteral(1)} == slow


def _token_path(seq: int, text: bytes, body: bytes | None) -> list[Event] | None:
    """What the general token reader makes of ``* seq FETCH`` + text (+ literal), or None."""
    tokens: list[Token] = list(tokenize(text))
    if body is not None:
        tokens += [InlineLiteral(body), b")"]
    try:
        return [FetchResponse(seq, parse_fetch(tokens, seq).attributes)]
    except RemoteProtocolError:
        return None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_ITEMS, max_size=5),
    st.sampled_from([None, b"", b"abc", b")\r\n* 1 FETCH {3}\r\n"]),
    st.sampled_from([STREAM_ALL, WHOLE_DEFAULT]),
    st.integers(1, 10**12),
)
def test_whole_lines_read_like_the_token_path(
    items: list[tuple[str, str]], body: bytes | None, whole: int, seq: int
) -> None:
    inner = " ".join(f"{name} {value}" for name, value in items).encode()
    if body is None:
        text = b" (" + inner + b")"
        data = b"* %d FETCH%s\r\n" % (seq, text)
    else:
        text = b" (" + inner + (b" BODY[]" if inner else b"BODY[]")
        data = b"* %d FETCH%s {%d}\r\n%s)\r\n" % (seq, text, len(body), body)
    expected = _token_path(seq, text, body)
    for _ in range(2):
        try:
            events = normalized(feed_chunks([data], whole=whole))
        except RemoteProtocolError:
            assert expected is None
            continue
        assert events == expected
