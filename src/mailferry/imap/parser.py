"""Sans-IO IMAP response parser: ``feed(bytes)`` in, events out (h11 style).

Framing: a response is a line, except that a line ending in a literal marker
``{n}`` (also ``~{n}``, leniently ``{n+}``) is followed by ``n`` raw bytes and
then by the rest of the response, up to the next CRLF. Status responses
(greeting, tagged, ``* OK/NO/BAD/BYE/PREAUTH``) and continuation requests are
complete after one line. A data response is collected segment by segment:
FETCH segments are tokenized as they arrive so that a literal that is the
value of a top-level body item (``BODY[...]``, ``BINARY[...]``, ``RFC822``...)
can be streamed as FetchLiteralStart / LiteralData... / FetchLiteralEnd
straight out of the receive buffer; every other literal is read whole
(capped by ``max_inline_literal``) and parsed with the response.

Caps: the text of one response (literal contents excluded) may not exceed
``max_line_length`` (checked on every feed, so a line without CRLF fails as
soon as it is too long); a literal may not announce more than
``max_literal_size``; the inline literals of one response may not total more
than ``max_line_length``. After an error the parser refuses further use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailferry.errors import RemoteProtocolError, ResponseTooLarge
from mailferry.imap.events import (
    ContinuationRequest,
    Event,
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    Greeting,
    LiteralData,
    StreamedLiteral,
    TaggedResponse,
    UntaggedStatus,
)
from mailferry.imap.fetch import body_item, fast_fetch, parse_fetch
from mailferry.imap.response_codes import parse_resp_text
from mailferry.imap.tokenizer import (
    InlineLiteral,
    Token,
    decode,
    excerpt,
    to_int,
    tokenize,
)
from mailferry.imap.untagged import Part, parse_untagged

_UNTAGGED = re.compile(rb"\* (?:([0-9]+) )?([A-Za-z][^\x00-\x20\x7f(){\"\\\[\]%*]*)(?= |\Z)")
_TAGGED = re.compile(rb'([^\x00-\x20\x7f(){%*"\\+]+) ([A-Za-z]+)(?: |\Z)')
_START = re.compile(rb'\*(?: |\Z)|\+|[^\x00-\x20\x7f(){%*"\\+]+(?: |\Z)')
_MARKER = re.compile(rb"\{([0-9]*)\+?\}")
_STATUSES = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_GREETINGS = frozenset({"OK", "PREAUTH", "BYE"})
_TAGGED_STATUSES = frozenset({"OK", "NO", "BAD"})
_COMPACT_AT = 64 * 1024
_NO_LITERAL = StreamedLiteral(0)
_CLOSE = [b")"]  # the tokens of the usual last segment of a FETCH (never mutated)

# What the parser is reading right now.
_LINE, _INLINE, _STREAM = 0, 1, 2
# What kind of response is in progress.
_NONE, _FETCH, _DATA = 0, 1, 2


class ResponseParser:
    """Turns server bytes into ``mailferry.imap.events`` events; never does I/O."""

    def __init__(
        self,
        *,
        expect_greeting: bool = True,
        max_line_length: int = 16 * 1024 * 1024,
        max_literal_size: int = 1024 * 1024 * 1024,
        max_inline_literal: int = 1024 * 1024,
    ) -> None:
        self._max_line = max_line_length
        self._max_literal = max_literal_size
        self._max_inline = max_inline_literal
        self._greeting = expect_greeting
        self._buf = bytearray()
        self._pos = 0  # start of the unread bytes in _buf
        self._scan = 0  # where the CRLF search resumes
        self._failed: RemoteProtocolError | None = None
        self._state = _LINE
        self._need = 0  # bytes still expected for the current literal
        # The response in progress (set by _untagged and _start_stream before use).
        self._kind = _NONE
        self._context = b""  # its first line, for error messages
        self._name = ""
        self._number: int | None = None
        self._item = ""  # the streamed item
        self._streamed = _NO_LITERAL
        self._tokens: list[Token] = []  # FETCH
        self._parts: list[Part] = []  # other data responses
        self._depth = 0  # FETCH paren depth
        self._fast: dict[str, object] | None = None  # attributes read by fetch.fast_fetch
        self._fast_text = b""
        self._text_len = 0
        self._inline_total = 0

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

    # -- public API ---------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append received bytes (any chunking)."""
        pos = self._pos
        if pos and (pos >= len(self._buf) or pos > _COMPACT_AT):
            del self._buf[:pos]
            self._scan = max(0, self._scan - pos)
            self._pos = 0
        self._buf += data

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed."""
        if self._failed is not None:
            raise RemoteProtocolError(f"parser unusable after an earlier error: {self._failed}")
        try:
            while True:
                state = self._state
                if state == _STREAM:
                    return self._stream()
                if state == _INLINE:
                    if not self._read_inline():
                        return None
                    continue
                line = self._read_line()
                if line is None:
                    return None
                event = self._start(line) if self._kind == _NONE else self._segment(line)
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
        held = self._text_len + self._inline_total - (self._need if self._state == _INLINE else 0)
        return len(self._buf) - self._pos + held

    @property
    def idle(self) -> bool:
        """True between responses with nothing buffered (safe to switch transport)."""
        return self._kind == _NONE and self._state == _LINE and len(self._buf) == self._pos

    # -- framing ------------------------------------------------------------

    def _read_line(self) -> bytes | None:
        buf = self._buf
        pos = self._pos
        scan = self._scan
        end = buf.find(b"\r\n", scan if scan > pos else pos)
        if end < 0:
            size = len(buf)
            if size - pos + self._text_len > self._max_line:
                raise ResponseTooLarge("response line", size - pos + self._text_len, self._max_line)
            if self._kind == _NONE and size > pos:
                self._check_start(bytes(buf[pos : pos + 64]))
            self._scan = max(pos, size - 1)
            return None
        if end - pos + self._text_len > self._max_line:
            raise ResponseTooLarge("response line", end - pos + self._text_len, self._max_line)
        line = bytes(buf[pos:end])
        self._pos = self._scan = end + 2
        return line

    def _check_start(self, head: bytes) -> None:
        """Fail at once on a partial line that cannot begin any response."""
        if _START.match(head[:-1] if head.endswith(b"\r") else head) is None:
            raise RemoteProtocolError(f"malformed start of response: {excerpt(head)}")

    def _stream(self) -> Event | None:
        need = self._need
        if need == 0:
            self._state = _LINE
            return FetchLiteralEnd(self._number or 0, self._item)
        pos = self._pos
        available = len(self._buf) - pos
        if available <= 0:
            return None
        take = need if need < available else available
        with memoryview(self._buf) as view:
            chunk = bytes(view[pos : pos + take])
        self._pos = pos + take
        self._need = need - take
        return LiteralData(chunk)

    def _read_inline(self) -> bool:
        need = self._need
        pos = self._pos
        if len(self._buf) - pos < need:
            return False
        with memoryview(self._buf) as view:
            data = bytes(view[pos : pos + need])
        self._pos = self._scan = pos + need
        literal = InlineLiteral(data)
        if self._kind == _FETCH:
            self._tokens.append(literal)
        else:
            self._parts.append(literal)
        self._state = _LINE
        return True

    def _split_literal(self, line: bytes) -> tuple[bytes, int | None]:
        """Separate a trailing literal marker: (text before it, size or None)."""
        if not line.endswith(b"}"):
            return line, None
        brace = line.rfind(b"{")
        if brace < 0:
            return line, None
        match = _MARKER.fullmatch(line, brace)
        if match is None or not match.group(1):
            if b'"' in line[brace:]:
                return line, None
            raise RemoteProtocolError(f"malformed literal size in {excerpt(line[-60:])}")
        digits = match.group(1)
        if len(digits) > 30 or int(digits) > self._max_literal:
            size = int(digits) if len(digits) <= 30 else 10**30
            raise ResponseTooLarge("literal", size, self._max_literal)
        start = brace - 1 if brace and line[brace - 1] == 0x7E else brace
        return line[:start].rstrip(b" "), int(digits)

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
            return self._greeting_line(line)
        if first == b"+":
            text = line[2:] if line[1:2] == b" " else line[1:]
            return ContinuationRequest(decode(text))
        if first == b"*":
            return self._untagged(line)
        return self._tagged(line)

    def _greeting_line(self, line: bytes) -> Event:
        match = _UNTAGGED.match(line)
        status = decode(match.group(2)).upper() if match and match.group(1) is None else ""
        if match is None or status not in _GREETINGS:
            raise RemoteProtocolError(f"expected a greeting, got {excerpt(line)}")
        self._greeting = False
        code, text = parse_resp_text(line[match.end() + 1 :])
        return Greeting(status, code, text)

    def _tagged(self, line: bytes) -> Event:
        match = _TAGGED.match(line)
        status = match.group(2).upper().decode() if match else ""
        if match is None or status not in _TAGGED_STATUSES:
            raise RemoteProtocolError(f"malformed tagged response: {excerpt(line)}")
        code, text = parse_resp_text(line[match.end() :])
        return TaggedResponse(decode(match.group(1)), status, code, text)

    def _untagged(self, line: bytes) -> Event | None:
        match = _UNTAGGED.match(line)
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
        text, size = self._split_literal(line)
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
                fast[self._item] = self._streamed
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
            event = self._start_stream(item, size)
            self._tokens.append(self._streamed)
            return event
        self._expect_literal(size)
        return None

    def _start_stream(self, item: str, size: int) -> Event:
        self._item = item
        self._streamed = StreamedLiteral(size)
        self._need = size
        self._state = _STREAM
        return FetchLiteralStart(self._number or 0, item, size)
