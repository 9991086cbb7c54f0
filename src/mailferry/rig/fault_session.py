"""One connection through the fault proxy: two pumps and the faults they inject.

Client to server, commands are forwarded line by line and literal by literal (APPEND's
``{N}`` and ``{N+}`` pass intact); a command the plan answers itself (a throttle, a
BYE) is swallowed whole instead. Server to client, responses are forwarded piece by
piece; a message literal's announced size may be rewritten (the literal's bytes are
not touched: the client then reads past the message, or stops short of it). Replies
of our own are written only between two server responses, never inside one.

Enough state is kept to keep the framing right: a synchronizing literal the server
refused (tagged NO instead of ``+``) is never sent; AUTHENTICATE's SASL lines and
IDLE's DONE are no commands; after STARTTLS or COMPRESS took effect the connection
is passed on opaque, unparsed and without faults but a cut.
"""

from __future__ import annotations

import asyncio
import contextlib

from mailferry.rig.fault_plan import Action, Answer, FaultPlan
from mailferry.rig.imap_stream import (
    Piece,
    StreamScanner,
    body_literal_size,
    command_words,
    is_fetch_response,
    response_words,
    with_literal_size,
)

CHUNK = 64 * 1024
DRAIN_TIMEOUT = 30.0
_SWITCHES = frozenset({"STARTTLS", "COMPRESS"})
_GONE = (ConnectionError, OSError, TimeoutError)  # a peer that left, or stopped reading


class FaultSession:
    """Proxies one client connection to its own upstream connection."""

    def __init__(
        self,
        plan: FaultPlan,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.plan = plan
        self._client_reader, self._client = client
        self._server_reader, self._server = server
        self._up = StreamScanner()
        self._down = StreamScanner()
        self._pending: list[bytes] = []  # our own replies, waiting for a response boundary
        self._close_after_pending = False
        self._closed = False
        self._response_first = b""
        self._tag = ""
        self._answer: Answer | None = None  # the command now arriving is answered by us
        self._awaiting_plus: str | None = None  # tag of a command whose {N} awaits "+"
        self._sasl_tag: str | None = None
        self._idle_done_next = False
        self._switch_tag: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Until the server's side ends (or a fault ends the connection)."""
        upstream = asyncio.create_task(self._client_to_server())
        try:
            await self._server_to_client()
        finally:
            upstream.cancel()
            with contextlib.suppress(asyncio.CancelledError, *_GONE):
                await upstream
            for task in list(self._tasks):
                with contextlib.suppress(asyncio.CancelledError, *_GONE):
                    await task
            self.abort()

    def abort(self) -> None:
        """Drop both sides now (a side already closing gracefully still sends its rest)."""
        self._closed = True
        for writer in (self._client, self._server):
            if not writer.transport.is_closing():
                writer.transport.abort()

    def kill(self) -> None:
        """Drop both sides now, whatever is still buffered."""
        self._closed = True
        for writer in (self._client, self._server):
            writer.transport.abort()

    # -- client to server -------------------------------------------------------------

    async def _client_to_server(self) -> None:
        try:
            with contextlib.suppress(*_GONE):
                while not self._closed and (data := await self._client_reader.read(CHUNK)):
                    for piece in self._up.feed(data):
                        self._from_client(piece)
                        if self._closed or self._close_after_pending:
                            return
                    await asyncio.wait_for(self._server.drain(), DRAIN_TIMEOUT)
        finally:
            if not self._closed and not self._close_after_pending:
                self._client_gone()

    def _client_gone(self) -> None:
        """The client closed its side (or vanished): let the server finish."""
        try:
            self._server.write_eof()
        except (OSError, RuntimeError):
            self._server.transport.abort()

    def _from_client(self, piece: Piece) -> None:
        if piece.is_line and piece.first:
            self._answer = self._command(piece.data)
        if self._answer is None:
            self._server.write(piece.data)
            if piece.literal is not None and piece.literal.sync:
                self._awaiting_plus = self._tag
            return
        if piece.literal is not None and piece.literal.sync:
            self._up.cancel_literal()  # the client waits for "+": it gets our answer
            self._answer_now()
        elif piece.last:
            self._answer_now()

    def _command(self, line: bytes) -> Answer | None:
        """None: forward the command; else how we answer it ourselves."""
        if self._up.opaque:
            return None
        if self._sasl_tag is not None or self._idle_done_next:
            self._idle_done_next = False
            return None  # a SASL response line, or IDLE's DONE
        words = command_words(line)
        if words is None:
            return None  # not a command we understand: the server says so
        self._tag, name = words
        answer = self.plan.command(name)
        if answer.action is Action.BYE:
            self._inject(answer.text, close=True)
            return answer
        if answer.action is Action.THROTTLE:
            return answer
        if name == "AUTHENTICATE":
            self._sasl_tag = self._tag
        elif name == "IDLE":
            self._idle_done_next = True
        elif name in _SWITCHES:
            self._switch_tag = self._tag
        return None

    def _answer_now(self) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and answer.action is Action.THROTTLE:
            self._inject(f"{self._tag} {answer.text}")

    # -- server to client -------------------------------------------------------------

    async def _server_to_client(self) -> None:
        with contextlib.suppress(*_GONE):
            while not self._closed and (data := await self._server_reader.read(CHUNK)):
                for piece in self._down.feed(data):
                    self._from_server(piece)
                    if self._closed:
                        return
                await asyncio.wait_for(self._client.drain(), DRAIN_TIMEOUT)
            if not self._closed:
                self._client.close()  # the server ended: so does the client's connection
                self._closed = True

    def _from_server(self, piece: Piece) -> None:
        if not piece.is_line:
            self._send(piece.data)
            return
        line = piece.data
        if piece.first:
            self._response_first = line
        if piece.literal is not None and is_fetch_response(self._response_first):
            size = body_literal_size(line)
            if size is not None:
                claimed = self.plan.body_literal(size)
                if claimed != size:
                    line = with_literal_size(line, claimed)
        self._send(line)
        if piece.last:
            self._response_ended()
            self._flush()

    def _response_ended(self) -> None:
        tag, status = response_words(self._response_first)
        if tag == "+":
            self._awaiting_plus = None
            return
        if tag == "*":
            return
        if tag == self._awaiting_plus:  # refused before "+": the literal never comes
            self._awaiting_plus = None
            self._up.cancel_literal()
            self._answer = None
        if tag == self._sasl_tag:
            self._sasl_tag = None
        if tag == self._switch_tag:
            self._switch_tag = None
            if status == "OK":
                self._up.opaque = self._down.opaque = True

    # -- writing to the client --------------------------------------------------------

    def _inject(self, text: str, *, close: bool = False) -> None:
        self._pending.append(text.rstrip("\r\n").encode() + b"\r\n")
        self._close_after_pending |= close
        self._flush()

    def _flush(self) -> None:
        if self._closed or not self._down.at_boundary:
            return
        pending, self._pending = self._pending, []
        for data in pending:
            self._send(data)
            if self._closed:
                return
        if self._close_after_pending:
            self._closed = True
            self._client.close()  # after the buffered bytes (our BYE) are sent
            self._server.transport.abort()

    def _send(self, data: bytes) -> None:
        allowed = self.plan.cut_take(len(data))
        if allowed is None:
            self._client.write(data)
            return
        self._client.write(data[:allowed])
        self._closed = True
        task = asyncio.get_running_loop().create_task(self._cut())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cut(self) -> None:
        """Send what the budget allowed, then abort both sides."""
        with contextlib.suppress(*_GONE):
            await asyncio.wait_for(self._client.drain(), DRAIN_TIMEOUT)
        self.kill()
