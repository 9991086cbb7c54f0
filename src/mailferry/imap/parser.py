"""Sans-IO IMAP response parser: bytes in, events out (h11 style).

Bytes come in either through ``feed(data)`` or, without a copy, by receiving
straight into the parser's buffer (``get_buffer`` / ``buffer_updated``, the
``asyncio.BufferedProtocol`` calls). The buffer is reused: it is compacted
when full and grows only as far as one line or one whole-body literal needs.

Framing: a response is a line, except that a line ending in a literal marker
``{n}`` (also ``~{n}``, leniently ``{n+}``) is followed by ``n`` raw bytes and
then by the rest of the response, up to the next CRLF. Status responses
(greeting, tagged, ``* OK/NO/BAD/BYE/PREAUTH``) and continuation requests are
complete after one line. A data response is collected segment by segment:
FETCH segments are tokenized as they arrive so that a literal that is the
value of a top-level body item (``BODY[...]``, ``BINARY[...]``, ``RFC822``...)
is either handed out whole in the ``FetchResponse`` (while the body literals of
the response total at most ``max_whole_body``) or streamed as
FetchLiteralStart / LiteralData... / FetchLiteralEnd straight out of the
receive buffer; every other literal is read whole (capped by
``max_inline_literal``) and parsed with the response.

With ``fetch_runs=True`` (what connections use) the parser, when it stands
at the start of a response, first tries ``fetch_run.read_run``: the complete
simple FETCH responses of one learned shape that are already received come
out together as one ``FetchRun`` event (a big FETCH's hot path), and a simple
response whose small body is not all received yet is waited for. Anything
else goes the general way, which gives the same responses and errors.

Caps: the text of one response (literal contents excluded) may not exceed
``max_line_length`` (checked on every feed, so a line without CRLF fails as
soon as it is too long); a literal may not announce more than
``max_literal_size``; the inline literals of one response may not total more
than ``max_line_length``. After an error the parser refuses further use.
"""

from __future__ import annotations

from collections.abc import Iterator

from mailferry.errors import RemoteProtocolError, ResponseTooLarge
from mailferry.imap.events import (
    ContinuationRequest,
    Event,
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    FetchRun,
    LiteralData,
    StreamedLiteral,
    UntaggedStatus,
)
from mailferry.imap.fetch import body_item, parse_fetch
from mailferry.imap.fetch_fast import fast_fetch, fetch_head
from mailferry.imap.fetch_run import read_run
from mailferry.imap.receive_buffer import ReceiveBuffer
from mailferry.imap.response_codes import parse_resp_text
from mailferry.imap.response_lines import (
    UNTAGGED,
    check_start,
    parse_greeting,
    parse_tagged,
    split_literal,
)
from mailferry.imap.tokenizer import (
    InlineLiteral,
    Token,
    decode,
    excerpt,
    to_int,
    tokenize,
)
from mailferry.imap.untagged import Part, parse_untagged

_STATUSES = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_NO_LITERAL = StreamedLiteral(0)
_CLOSE = [b")"]  # the tokens of the usual last segment of a FETCH (never mutated)

# What the parser is reading right now.
_LINE, _INLINE, _STREAM, _WHOLE = 0, 1, 2, 3
# What kind of response is in progress.
_NONE, _FETCH, _DATA = 0, 1, 2


class ResponseParser(ReceiveBuffer):
    """Turns server bytes into ``mailferry.imap.events`` events; never does I/O.

    Bytes go in through the ``ReceiveBuffer`` methods (``feed``, or
    ``get_buffer``/``buffer_updated``); events come out of ``next_event``.
    """

    def __init__(
        self,
        *,
        expect_greeting: bool = True,
        max_line_length: int = 16 * 1024 * 1024,
        max_literal_size: int = 1024 * 1024 * 1024,
        max_inline_literal: int = 1024 * 1024,
        max_whole_body: int = 256 * 1024,
        buffer_size: int = 256 * 1024,
        fetch_runs: bool = False,
    ) -> None:
        super().__init__(buffer_size)
        self._runs = fetch_runs
        self._max_line = max_line_length
        self._max_literal = max_literal_size
        self._max_inline = max_inline_literal
        self._max_whole = max_whole_body
        self._greeting = expect_greeting
        self._failed: RemoteProtocolError | None = None
        self._state = _LINE
        self._need = 0  # bytes still expected for the current literal
        # The response in progress (set by _untagged and _start_stream before use).
        self._kind = _NONE
        self._context = b""  # its first line, for error messages
        self._name = ""
        self._number: int | None = None
        self._item = ""  # the body item whose literal is being read
        self._streamed: Token = _NO_LITERAL  # its value: StreamedLiteral or InlineLiteral
        self._tokens: list[Token] = []  # FETCH
        self._parts: list[Part] = []  # other data responses
        self._depth = 0  # FETCH paren depth
        self._fast: dict[str, object] | None = None  # attributes read by fetch.fast_fetch
        self._fast_text = b""
        self._text_len = 0
        self._inline_total = 0
        self._whole_total = 0

    def _reset_response(self) -> None:
        self._kind = _NONE
        if self._tokens:
            self._tokens = []
        if self._parts:
            self._parts = []
        self._depth = 0
        self._fast = None
        self._text_len = 0
        self._inline_total = 0
        self._whole_total = 0

    # -- public API ---------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed."""
        if self._failed is not None:
            raise RemoteProtocolError(f"parser unusable after an earlier error: {self._failed}")
        try:
            while True:
                state = self._state
                if state == _STREAM:
                    return self._stream()
                if state == _WHOLE:
                    if not self._read_whole():
                        return None
                    continue
                if state == _INLINE:
                    if not self._read_inline():
                        return None
                    continue
                if self._runs and self._kind == _NONE and not self._greeting:
                    run, wait = self._fetch_run()
                    if run is not None or wait:
                        return run
                line = self._read_line()
                if line is None:
                    return None
                if self._kind != _NONE:
                    event = self._segment(line)
                elif line[:2] == b"* " and not self._greeting:
                    event = self._fetch_head(line)
                else:
                    event = self._start(line)
                if event is not None:
                    return event
        except RemoteProtocolError as exc:
            self._failed = exc
            raise

    def events(self) -> Iterator[Event]:
        """Drain all currently available events."""
        next_event = self.next_event
        while (event := next_event()) is not None:
            yield event

    def expect_greeting(self) -> None:
        """(Re)arm: the next response is parsed as a Greeting."""
        self._greeting = True

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events."""
        held = self._text_len + self._inline_total + self._whole_total
        if self._state == _INLINE or self._state == _WHOLE:
            held -= self._need
        return self._end - self._pos + held

    @property
    def idle(self) -> bool:
        """True between responses with nothing buffered (safe to switch transport)."""
        return self._kind == _NONE and self._state == _LINE and self._end == self._pos

    # -- framing ------------------------------------------------------------

    def _fetch_run(self) -> tuple[FetchRun | None, bool]:
        """Simple complete FETCH responses at the start of the unread bytes, if any;
        and whether to wait for the rest of the next one (see ``read_run``)."""
        pos, scan = self._pos, self._scan
        if self._buf.find(b"\r\n", scan if scan > pos else pos, self._end) < 0:
            return None, False  # no whole line yet (and a long one is not rescanned)
        entries, pos, wait = read_run(
            self._buf,
            self._view,
            self._pos,
            self._end,
            self._max_line,
            self._max_whole,
            self._max_literal,
        )
        if not entries:
            return None, wait
        self._pos = self._scan = pos
        return FetchRun(entries), wait

    def _read_line(self) -> bytes | None:
        pos = self._pos
        scan = self._scan
        size = self._end
        end = self._buf.find(b"\r\n", scan if scan > pos else pos, size)
        if end < 0:
            if size - pos + self._text_len > self._max_line:
                raise ResponseTooLarge("response line", size - pos + self._text_len, self._max_line)
            if self._kind == _NONE and size > pos:
                check_start(self._view[pos : min(size, pos + 64)].tobytes())
            self._scan = max(pos, size - 1)
            return None
        if end - pos + self._text_len > self._max_line:
            raise ResponseTooLarge("response line", end - pos + self._text_len, self._max_line)
        line = self._view[pos:end].tobytes()
        self._pos = self._scan = end + 2
        return line

    def _stream(self) -> Event | None:
        need = self._need
        if need == 0:
            self._state = _LINE
            return FetchLiteralEnd(self._number or 0, self._item)
        pos = self._pos
        available = self._end - pos
        if available <= 0:
            return None
        take = need if need < available else available
        chunk = self._view[pos : pos + take].tobytes()
        self._pos = pos + take
        self._need = need - take
        return LiteralData(chunk)

    def _read_whole(self) -> bool:
        """A body literal delivered whole: wait for all of it, keep it for the FetchResponse."""
        need = self._need
        pos = self._pos
        if self._end - pos < need:
            return False
        literal = InlineLiteral(self._view[pos : pos + need].tobytes())
        self._pos = self._scan = pos + need
        self._state = _LINE
        if self._fast is None:
            self._tokens.append(literal)
        else:
            self._streamed = literal
        return True

    def _read_inline(self) -> bool:
        need = self._need
        pos = self._pos
        if self._end - pos < need:
            return False
        literal = InlineLiteral(self._view[pos : pos + need].tobytes())
        self._pos = self._scan = pos + need
        if self._kind == _FETCH:
            self._tokens.append(literal)
        else:
            self._parts.append(literal)
        self._state = _LINE
        return True

    def _expect_literal(self, size: int) -> None:
        if size > self._max_inline:
            raise ResponseTooLarge("inline literal", size, self._max_inline)
        self._inline_total += size
        if self._inline_total > self._max_line:
            raise ResponseTooLarge(
                "inline literals of one response", self._inline_total, self._max_line
            )
        self._need = size
        self._state = _INLINE

    # -- responses ------------------------------------------------------------

    def _start(self, line: bytes) -> Event | None:
        """First line of a response."""
        first = line[:1]
        if self._greeting:
            greeting = parse_greeting(line)
            self._greeting = False
            return greeting
        if first == b"+":
            text = line[2:] if line[1:2] == b" " else line[1:]
            return ContinuationRequest(decode(text))
        if first == b"*":
            return self._untagged(line)
        return parse_tagged(line)

    def _fetch_head(self, line: bytes) -> Event | None:
        """``* n FETCH (simple items [body-item {size}]``, the hot path, in one go.

        A small body that is already received completes the response at once.
        Anything unusual goes through ``_untagged``, which gives the same events.
        """
        quick = fetch_head(line, self._max_literal)
        if quick is None:
            return self._untagged(line)
        seq, attributes, item, size = quick
        if item is None or size is None:
            return FetchResponse(seq, attributes)
        event = self._whole_at_once(seq, attributes, item, size)
        if event is not None:
            return event
        text = line[line.find(b" FETCH ") + 6 : line.rfind(b" {")]
        return self._await_body(line, text, seq, attributes, item, size)

    def _whole_at_once(
        self, seq: int, attributes: dict[str, object], item: str, size: int
    ) -> Event | None:
        """The FetchResponse, if the small body and the closing ``)`` are all received."""
        pos = self._pos
        stop = pos + size
        if (
            size <= self._max_whole
            and stop + 3 <= self._end
            and self._buf.startswith(b")\r\n", stop)
            and self._max_whole > 0
        ):
            attributes[item] = self._view[pos:stop].tobytes()
            self._pos = self._scan = stop + 3
            return FetchResponse(seq, attributes)
        return None

    def _await_body(
        self,
        line: bytes,
        text: bytes,
        seq: int,
        attributes: dict[str, object],
        item: str,
        size: int,
    ) -> Event | None:
        """Go on like the general path after the first segment: the literal, then the rest."""
        self._context = line
        self._name = "FETCH"
        self._number = seq
        self._kind = _FETCH
        self._text_len = len(line) + 2
        self._fast, self._fast_text = attributes, text
        return self._start_stream(item, size)

    def _untagged(self, line: bytes) -> Event | None:
        match = UNTAGGED.match(line)
        if match is None:
            raise RemoteProtocolError(f"malformed untagged response: {excerpt(line)}")
        name = decode(match.group(2)).upper()
        number = match.group(1)
        if number is None and name in _STATUSES:
            code, text = parse_resp_text(line[match.end() + 1 :])
            return UntaggedStatus(name, code, text)
        self._context = line
        self._name = name
        self._number = to_int(number) if number is not None else None
        self._kind = _FETCH if name == "FETCH" and number is not None else _DATA
        return self._segment(line, match.end())

    def _segment(self, line: bytes, skip: int = 0) -> Event | None:
        """One line of a data response (after the first one, ``skip`` is 0)."""
        self._text_len += len(line) + 2
        text, size = split_literal(line, self._max_literal)
        if skip:
            text = text[skip:]
        if self._kind == _FETCH:
            return self._fetch_segment(text, size)
        self._parts.append(text.rstrip(b" "))
        if size is not None:
            self._expect_literal(size)
            return None
        event = parse_untagged(self._name, self._number, self._parts, self._context)
        self._reset_response()
        return event

    def _fetch_segment(self, text: bytes, size: int | None) -> Event | None:
        event: Event
        fast = self._fast
        if fast is not None:  # the simple first segment was parsed; a literal was streamed
            if text == b")" and size is None:
                streamed = self._streamed
                fast[self._item] = (
                    streamed.data if isinstance(streamed, InlineLiteral) else streamed
                )
                event = FetchResponse(self._number or 0, fast)
                self._reset_response()
                return event
            self._fast = None
            self._tokens = [*tokenize(self._fast_text), self._streamed]
            self._depth = 1
        elif not self._tokens:
            try:
                quick = fast_fetch(text)
            except RemoteProtocolError as exc:
                raise RemoteProtocolError(f"{exc} in {excerpt(self._context)}") from None
            if quick is not None and (quick[1] is None) == (size is None):
                attributes, body = quick
                if body is None:
                    event = FetchResponse(self._number or 0, attributes)
                    self._reset_response()
                    return event
                assert size is not None
                item = body_item(body)
                if item is not None:
                    self._fast, self._fast_text = attributes, text
                    return self._start_stream(item, size)
        tokens = _CLOSE if text == b")" else tokenize(text)
        self._tokens.extend(tokens)
        self._depth += tokens.count(b"(") - tokens.count(b")")
        if size is None:
            event = parse_fetch(self._tokens, self._number or 0, self._context)
            self._reset_response()
            return event
        item = body_item(tokens[-1]) if tokens and self._depth == 1 else None
        if item is not None:
            return self._start_stream(item, size)
        self._expect_literal(size)
        return None

    def _start_stream(self, item: str, size: int) -> Event | None:
        """A body literal: read whole if the response's budget allows, else streamed."""
        self._item = item
        self._need = size
        if self._max_whole > 0 and self._whole_total + size <= self._max_whole:
            self._whole_total += size
            self._state = _WHOLE
            return None
        self._streamed = StreamedLiteral(size)
        if self._fast is None:
            self._tokens.append(self._streamed)
        self._state = _STREAM
        return FetchLiteralStart(self._number or 0, item, size)
