"""The asyncio shell around the sans-IO IMAP core (as httpcore drives h11).

One reader task drains ``ResponseParser`` (the transport receives straight
into its buffer) and routes each event: tagged completions to the command
that owns the tag, continuation requests to the command that is sending,
FETCH responses (and runs of them, ``FetchRun``) to the active fetch sink
(streaming bodies), everything else
to an untagged log that each command gets its share of. After each drain the
sink is flushed (a ``QueueSink`` hands its batch of messages to the consumer).
Commands are sent through ``CommandEncoder``; synchronising literals wait for
the server's ``+``. ``CommandGate`` lets UID FETCH / APPEND pipeline while all
other commands run alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailferry.connection.fetch_sink import CollectingSink, FetchedMessage, FetchSink
from mailferry.connection.gate import CommandGate
from mailferry.connection.options import ConnectOptions
from mailferry.connection.transport import StepCallback, Transport, open_transport
from mailferry.errors import (
    CommandFailed,
    CommandTimeout,
    ConnectionLost,
    ConnectTimeout,
    MailferryError,
    RemoteProtocolError,
    ServerBye,
    Throttled,
    TokenRefused,
)
from mailferry.imap.commands import Arg, CommandEncoder, Segment
from mailferry.imap.events import (
    CapabilityResponse,
    ContinuationRequest,
    Event,
    FetchLiteralEnd,
    FetchLiteralStart,
    FetchResponse,
    FetchRun,
    Greeting,
    LiteralData,
    ResponseCode,
    TaggedResponse,
    UntaggedStatus,
)
from mailferry.imap.parser import ResponseParser

#: Run by the reader task right after a command's tagged OK, before reading on
#: (STARTTLS and COMPRESS switch the byte stream at exactly that point).
SwitchHook = Callable[[], Awaitable[None]]

#: What a command's untagged share holds: parser events, FETCHes assembled.
Untagged = Event | FetchedMessage

#: Answers a SASL challenge (the text after ``+``) with the line to send.
Responder = Callable[[str], bytes]

_THROTTLE_CODES = {"THROTTLED", "LIMIT", "UNAVAILABLE"}
_BACKOFF_RE = re.compile(r"Suggested Backoff Time:\s*(\d+)\s*(ms|milliseconds?)?", re.I)
_EXPIRED_CODES = frozenset({"EXPIRED", "AUTHENTICATIONFAILED"})
_EXPIRED_WORDS = re.compile(
    r"AccessTokenExpired|session invalidated|token\W+(?:has\W+)?expired|expired\W+token"
    r"|invalid[_ ]token",
    re.I,
)


@dataclass(frozen=True)
class CommandResult:
    """A completed command: its tagged response and the untagged ones it drew."""

    tagged: TaggedResponse
    untagged: tuple[Untagged, ...]

    def codes(self, name: str) -> list[ResponseCode]:
        """All response codes called ``name`` in the tagged and untagged responses."""
        found = [self.tagged.code] if self.tagged.code else []
        found += [e.code for e in self.untagged if isinstance(e, UntaggedStatus) and e.code]
        return [code for code in found if code.name == name]


@dataclass
class InFlight:
    """A command that has been sent and awaits its tagged response."""

    tag: str
    command: str
    future: asyncio.Future[TaggedResponse]
    log_start: int
    on_ok: SwitchHook | None = None
    untagged: tuple[Untagged, ...] = field(default=())


def says_token_expired(code: str | None, text: str) -> bool:
    """Whether an answer after login says the session's credentials (an OAuth2 token) no
    longer hold: RFC 5530's ``[EXPIRED]`` and ``[AUTHENTICATIONFAILED]``, Exchange
    Online's ``BYE Session invalidated - AccessTokenExpired``."""
    return (code or "").upper() in _EXPIRED_CODES or _EXPIRED_WORDS.search(text) is not None


def suggested_backoff(text: str) -> float | None:
    """Seconds from "Request is throttled. Suggested Backoff Time: N ms", if present."""
    match = _BACKOFF_RE.search(text)
    return int(match.group(1)) / 1000 if match else None


class ImapConnection:
    """A live IMAP connection. Use ``await ImapConnection.open(options)``."""

    def __init__(
        self, transport: Transport, options: ConnectOptions, parser: ResponseParser
    ) -> None:
        self.options = options
        self.transport = transport
        self.capabilities: frozenset[str] = frozenset()
        self.greeting: Greeting | None = None
        self.last_tagged: TaggedResponse | None = None
        self._parser = parser
        self._encoder = CommandEncoder()
        self._tags = (f"M{n}" for n in itertools.count(1))
        self._pending: dict[str, InFlight] = {}
        self._log: list[Untagged] = []
        self._log_base = 0
        self._continuation: asyncio.Future[ContinuationRequest] | None = None
        self._greeting_future: asyncio.Future[Greeting] = asyncio.get_running_loop().create_future()
        self._send_lock = asyncio.Lock()
        self.gate = CommandGate()
        self._default_sink = CollectingSink(options.spool_threshold, self._log_event)
        self._sink: FetchSink = self._default_sink
        self._error: MailferryError | None = None
        self._bye: str | None = None
        self._last_activity = time.monotonic()
        self._reader_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, options: ConnectOptions, on_step: StepCallback | None = None
    ) -> ImapConnection:
        """Connect, and wait for the greeting (failing on BYE)."""
        parser = new_parser(options)
        transport = await open_transport(options, parser, on_step)
        connection = cls(transport, options, parser)
        connection._reader_task = asyncio.create_task(connection._read_loop())
        started = time.monotonic()
        try:
            greeting = await asyncio.wait_for(
                asyncio.shield(connection._greeting_future), options.connect_timeout
            )
        except TimeoutError as exc:
            await connection.close()
            raise ConnectTimeout("IMAP greeting", options.connect_timeout) from exc
        except MailferryError:
            await connection.close()
            raise
        if greeting.status == "BYE":
            await connection.close()
            raise ServerBye(greeting.text)
        if on_step:
            on_step("greeting", time.monotonic() - started, f"{greeting.status} {greeting.text}")
        return connection

    # -- state ---------------------------------------------------------------

    @property
    def broken(self) -> MailferryError | None:
        """The error that ended this connection, if it has ended."""
        return self._error

    def has_capability(self, name: str) -> bool:
        return name.upper() in self.capabilities

    def set_capabilities(self, capabilities: frozenset[str]) -> None:
        self.capabilities = frozenset(c.upper() for c in capabilities)
        self._encoder.set_capabilities(self.capabilities)

    @property
    def unparsed(self) -> int:
        """Bytes received but not yet turned into events (none may precede a TLS switch)."""
        return self._parser.buffered

    def enable_compression(self) -> None:
        """Switch to COMPRESS=DEFLATE (right after its tagged OK)."""
        self.transport.enable_compression(self._parser.take_unread())

    def set_fetch_sink(self, sink: FetchSink | None) -> None:
        """Route FETCH responses to ``sink`` (``None``: collect them in the log)."""
        self._sink = sink if sink is not None else self._default_sink

    # -- commands --------------------------------------------------------------

    async def command(
        self,
        name: str,
        *args: Arg,
        pipelined: bool = False,
        on_ok: SwitchHook | None = None,
        responder: Responder | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Send one command and wait for its completion.

        ``check`` raises ``CommandFailed`` (or ``Throttled``) on NO/BAD.
        """
        async with self.gate.hold(shared=pipelined):
            sent = await self.send(name, *args, on_ok=on_ok, responder=responder)
            return await self.complete(sent, check=check)

    async def send(
        self,
        name: str,
        *args: Arg,
        on_ok: SwitchHook | None = None,
        responder: Responder | None = None,
    ) -> InFlight:
        """Send a command; the returned handle is passed to ``complete``.

        The caller must hold the gate. Waits only for continuations.
        """
        self._raise_if_broken()
        tag = next(self._tags)
        segments = self._encoder.encode(tag, name, *args)
        future: asyncio.Future[TaggedResponse] = asyncio.get_running_loop().create_future()
        pending = InFlight(tag, name, future, self._log_base + len(self._log), on_ok)
        async with self._send_lock:
            self._pending[tag] = pending
            try:
                await self._send_segments(segments, future, responder)
            except BaseException:
                self._cut_off(name)
                raise
        return pending

    async def _send_segments(
        self,
        segments: Sequence[Segment],
        future: asyncio.Future[TaggedResponse],
        responder: Responder | None,
    ) -> None:
        for segment in segments:
            await self.transport.write(segment.parts)
            if segment.wait_for_continuation and not await self._await_continuation(future):
                break
        if responder is not None:
            await self._answer_challenges(future, responder)

    def _cut_off(self, command: str) -> None:
        """A command interrupted while being sent (cancelled, or its connection failed)
        leaves the server inside it: the connection is dropped at once, with what is
        still buffered, rather than closed politely. A polite close would flush the
        rest of an APPEND (and a LOGOUT after it) to the server, which would store a
        message we had given up on."""
        if self._error is None:
            self._fail(ConnectionLost(f"{command} was cut off while being sent"))
        self.transport.abort()

    async def complete(self, sent: InFlight, *, check: bool = True) -> CommandResult:
        """Wait (with the inactivity timeout) for a command sent with ``send``."""
        tagged = await self._wait(sent.command, sent.future)
        result = CommandResult(tagged, sent.untagged)
        if check and tagged.status != "OK":
            raise command_error(sent.command, tagged)
        return result

    async def close(self) -> None:
        """Close without LOGOUT (see ``ImapClient.logout`` for the polite way)."""
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, MailferryError):
                await self._reader_task
        if self._error is None:
            self._fail(ConnectionLost("connection closed by us"))
        await self.transport.close()

    # -- internals -----------------------------------------------------------------

    def _raise_if_broken(self) -> None:
        if self._error is not None:
            raise self._error

    async def _await_continuation(self, future: asyncio.Future[TaggedResponse]) -> bool:
        """Wait for ``+``; False when the command completed (refused) instead."""
        waiter = self._new_continuation()
        await self._wait_any("continuation", waiter, future)
        return waiter.done() and not waiter.cancelled()

    async def _answer_challenges(
        self, future: asyncio.Future[TaggedResponse], responder: Responder
    ) -> None:
        while not future.done():
            waiter = self._new_continuation()
            await self._wait_any("AUTHENTICATE", waiter, future)
            if not waiter.done() or waiter.cancelled():
                return
            await self.transport.write([responder(waiter.result().text) + b"\r\n"])

    def _new_continuation(self) -> asyncio.Future[ContinuationRequest]:
        waiter: asyncio.Future[ContinuationRequest] = asyncio.get_running_loop().create_future()
        self._continuation = waiter
        return waiter

    async def _wait_any(
        self,
        what: str,
        waiter: asyncio.Future[ContinuationRequest],
        future: asyncio.Future[TaggedResponse],
    ) -> None:
        try:
            await self._wait_until(what, lambda: waiter.done() or future.done(), {waiter, future})
        finally:
            if not waiter.done():
                waiter.cancel()
            self._continuation = None

    async def _wait(self, name: str, future: asyncio.Future[TaggedResponse]) -> TaggedResponse:
        await self._wait_until(name, future.done, {future})
        return future.result()

    async def _wait_until(
        self, what: str, done: Callable[[], bool], futures: set[asyncio.Future[Any]]
    ) -> None:
        timeout = self.options.command_timeout
        while not done():
            idle = time.monotonic() - self._last_activity
            if idle >= timeout:
                self._fail(CommandTimeout(what, timeout))
                self.transport.abort()
                raise CommandTimeout(what, timeout)
            await asyncio.wait(futures, timeout=timeout - idle, return_when="FIRST_COMPLETED")
        for future in futures:
            error = future.exception() if future.done() and not future.cancelled() else None
            if error is not None:
                raise error

    async def _read_loop(self) -> None:
        receive = self.transport.receive
        try:
            while True:
                if not await receive():
                    raise self._eof_error()
                self._last_activity = time.monotonic()
                while (hook := self._drain()) is not None:
                    await hook
        except asyncio.CancelledError:
            raise
        except MailferryError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug in dispatch: never leave commands hanging
            self._fail(RemoteProtocolError(f"internal error while reading: {exc!r}"))
            raise

    def _eof_error(self) -> MailferryError:
        if self._bye is not None:
            return ServerBye(self._bye)
        return ConnectionLost("the server closed the connection")

    def _drain(self) -> Awaitable[None] | None:
        """Route the parser's events until one needs awaiting; at the end, flush the sink."""
        next_event = self._parser.next_event
        dispatch = self._dispatch
        sink = self._sink  # only another task changes it: not during this loop
        while (event := next_event()) is not None:
            kind = type(event)
            if kind is FetchRun:
                hook = sink.run(event)  # type: ignore[arg-type]
            elif kind is FetchResponse:
                hook = sink.response(event)  # type: ignore[arg-type]
            else:
                hook = dispatch(event)
            if hook is not None:
                return hook
        return sink.flush()

    def _dispatch(self, event: Event) -> Awaitable[None] | None:
        """Route one event (FETCH responses went straight to the sink), by type."""
        kind = type(event)
        if kind is LiteralData or kind is FetchLiteralStart or kind is FetchLiteralEnd:
            self._sink.feed(event)  # type: ignore[arg-type]
            return None
        if kind is FetchResponse:
            return self._sink.response(event)  # type: ignore[arg-type]
        if kind is FetchRun:
            return self._sink.run(event)  # type: ignore[arg-type]
        if kind is TaggedResponse:
            return self._on_tagged(event)  # type: ignore[arg-type]
        if kind is ContinuationRequest:
            self._on_continuation(event)  # type: ignore[arg-type]
        elif kind is Greeting:
            self._on_greeting(event)  # type: ignore[arg-type]
        else:
            self._on_untagged(event)
        return None

    def _on_greeting(self, greeting: Greeting) -> None:
        self.greeting = greeting
        self._capabilities_from_code(greeting.code)
        if not self._greeting_future.done():
            self._greeting_future.set_result(greeting)

    def _on_continuation(self, event: ContinuationRequest) -> None:
        waiter = self._continuation
        if waiter is None or waiter.done():
            raise RemoteProtocolError(f"unexpected continuation request: + {event.text[:80]}")
        waiter.set_result(event)

    def _on_untagged(self, event: Event) -> None:
        if isinstance(event, CapabilityResponse):
            self.set_capabilities(event.capabilities)
        elif isinstance(event, UntaggedStatus):
            self._capabilities_from_code(event.code)
            if event.status == "BYE":
                self._bye = event.text
        self._log_event(event)

    def _log_event(self, event: Untagged) -> None:
        self._log.append(event)

    def _on_tagged(self, tagged: TaggedResponse) -> Awaitable[None] | None:
        pending = self._pending.pop(tagged.tag, None)
        if pending is None:
            raise RemoteProtocolError(f"tagged response for unknown tag {tagged.tag!r}")
        self._capabilities_from_code(tagged.code)
        self.last_tagged = tagged
        start = pending.log_start - self._log_base
        pending.untagged = tuple(self._log[start:])
        if not self._pending:
            self._log_base += len(self._log)
            self._log.clear()
        hook = pending.on_ok() if pending.on_ok and tagged.status == "OK" else None
        if hook is None:
            pending.future.set_result(tagged)
            return None
        return self._finish_after(hook, pending.future, tagged)

    async def _finish_after(
        self,
        hook: Awaitable[None],
        future: asyncio.Future[TaggedResponse],
        tagged: TaggedResponse,
    ) -> None:
        try:
            await hook
        except MailferryError as exc:
            future.set_exception(exc)
            raise
        future.set_result(tagged)

    def _capabilities_from_code(self, code: ResponseCode | None) -> None:
        if code is not None and code.name == "CAPABILITY" and isinstance(code.value, frozenset):
            self.set_capabilities(code.value)

    def _fail(self, error: MailferryError) -> None:
        if self._error is None:
            self._error = error
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()
        if self._continuation is not None and not self._continuation.done():
            self._continuation.set_exception(error)
        if not self._greeting_future.done():
            self._greeting_future.set_exception(error)
        self._sink.fail(error)
        for future in (self._greeting_future,):
            if future.done() and not future.cancelled():
                future.exception()  # mark retrieved: nobody may be waiting any more


def new_parser(options: ConnectOptions) -> ResponseParser:
    """The response parser of a connection with ``options``.

    Bodies up to the smaller of ``spool_threshold`` and ``read_chunk`` come
    whole in their FetchResponse (one event, no spool); larger ones stream.
    """
    return ResponseParser(
        expect_greeting=True,
        max_line_length=options.max_line_length,
        max_literal_size=options.max_literal_size,
        max_whole_body=min(options.spool_threshold, options.read_chunk),
        buffer_size=options.read_chunk,
        fetch_runs=True,
    )


def command_error(command: str, tagged: TaggedResponse) -> CommandFailed:
    """The typed error for a NO/BAD completion (``Throttled`` when it asks us to slow down).

    Raises ``TokenRefused`` instead when the answer says the session's token expired: no
    caller may take that for a refusal of one message or one folder."""
    code = tagged.code.name if tagged.code else None
    if says_token_expired(code, tagged.text):
        shown = f"[{code}] " if code else ""
        raise TokenRefused(f"{command}: {tagged.status} {shown}{tagged.text}")
    backoff = suggested_backoff(tagged.text)
    if code in _THROTTLE_CODES or backoff is not None or "throttl" in tagged.text.lower():
        return Throttled(command, tagged.status, code, tagged.text, backoff)
    return CommandFailed(command, tagged.status, code, tagged.text)
