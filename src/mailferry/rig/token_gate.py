"""A FAKE of Exchange Online's IMAP front door, on 127.0.0.1, before a real Dovecot.

Two things Exchange does with OAuth2 that Dovecot (which checks a token only at login)
does not, played here so the tests meet them with a real server behind:

- an app token opens whichever mailbox XOAUTH2's ``user=`` names, if the app is granted
  it: the gate reads ``AUTHENTICATE XOAUTH2`` and tells the token server
  (``TokenServer.bind``), whose introspection then answers Dovecot for that mailbox;
- a session whose token has expired is ended: the first command after the expiry is
  held, the commands already sent are answered, then ``* BYE Session invalidated -
  AccessTokenExpired`` and the connection is closed (``on_expiry="bye"``); or each
  command from then on is answered ``NO [AUTHENTICATIONFAILED] AccessTokenExpired``
  (``on_expiry="no"``), the way some servers refuse an expired session.

``command_delay`` holds each named command (``{"APPEND": 0.2}``) that long before
forwarding it: a slow target, so a migration outlives short-lived tokens. Plain IMAP
only (no STARTTLS, no COMPRESS); XOAUTH2 with SASL-IR (the initial response on the
command line, as Dovecot offers and mailferry sends). Runs its own event loop in a
thread; every wait is bounded; ``close`` stops the loop, its connections and its thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Literal

from mailferry.rig.errors import RigError
from mailferry.rig.imap_stream import StreamScanner, command_words, response_words
from mailferry.rig.token_server import TokenServer

EXPIRED_BYE: Final = b"* BYE Session invalidated - AccessTokenExpired\r\n"
EXPIRED_NO: Final = "NO [AUTHENTICATIONFAILED] AccessTokenExpired"
CHUNK: Final = 64 * 1024
QUIET_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 10.0
_GONE = (ConnectionError, OSError, TimeoutError)

OnExpiry = Literal["bye", "no"]


class TokenGate:
    """Listens on ``127.0.0.1:self.port``, forwards to ``host:port``; see the module."""

    def __init__(
        self,
        host: str,
        port: int,
        tokens: TokenServer,
        *,
        on_expiry: OnExpiry = "bye",
        command_delay: Mapping[str, float] | None = None,
    ) -> None:
        self.upstream = (host, port)
        self.tokens = tokens
        self.on_expiry = on_expiry
        self.command_delay = {k.upper(): v for k, v in (command_delay or {}).items()}
        self.logins = 0
        self.expiries = 0  # sessions ended (bye) or commands refused (no) for an expired token
        self.failures: list[str] = []  # unexpected errors in the gate itself (bugs)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"token-gate-{self.port}")
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._started = self._closed = False

    def start(self) -> TokenGate:
        if not self._started:
            self._started = True
            self._thread.start()
            if not self._ready.wait(STOP_TIMEOUT):
                raise RigError(f"token gate on port {self.port} did not start")
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            stop = self._stop
            if stop is not None:
                self._loop.call_soon_threadsafe(stop.set)
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                raise RigError(f"token gate on port {self.port}: its thread did not stop")
        self._listener.close()
        self._loop.close()

    def __enter__(self) -> TokenGate:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc_type is None and self.failures:
            raise RigError(f"token gate failed: {'; '.join(self.failures)}")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._accept, sock=self._listener)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(self._handlers):
                task.cancel()
            if self._handlers:
                await asyncio.wait(list(self._handlers), timeout=STOP_TIMEOUT)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 10)
            for side in (writer, upstream[1]):
                _no_delay(side)
            await _GateSession(self, (reader, writer), upstream).run()
        except (asyncio.CancelledError, *_GONE):
            pass
        except Exception as error:  # a bug here must show in the test, not vanish
            self.failures.append(f"{type(error).__name__}: {error}")
        finally:
            writer.transport.abort()
            self._handlers.discard(task)


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """TCP_NODELAY (accepted sockets lack it): else each reply waits for a delayed ACK."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _GateSession:
    """One client connection and its own upstream connection."""

    def __init__(
        self,
        gate: TokenGate,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.gate = gate
        self._client_reader, self._client = client
        self._server_reader, self._server = server
        self._up, self._down = StreamScanner(), StreamScanner()
        self._outstanding: set[str] = set()  # tags forwarded, not yet answered
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._token: str | None = None
        self._login: tuple[str, str] | None = None  # (tag, token) of an AUTHENTICATE
        self._refusing = False  # swallowing the rest of a refused command

    async def run(self) -> None:
        downstream = asyncio.create_task(self._server_to_client())
        try:
            await self._client_to_server()
        finally:
            downstream.cancel()
            with contextlib.suppress(asyncio.CancelledError, *_GONE):
                await downstream
            self._server.transport.abort()

    async def _client_to_server(self) -> None:
        while data := await self._client_reader.read(CHUNK):
            for piece in self._up.feed(data):
                if piece.is_line and piece.first and not await self._command(piece.data):
                    return
                if self._refusing:
                    continue  # the rest of a refused command: its literals too
                self._server.write(piece.data)
            await self._server.drain()

    async def _command(self, line: bytes) -> bool:
        """Decide on a command's first line; False: the session is over."""
        self._refusing = False
        words = command_words(line)
        if words is None:
            return True  # a SASL answer or IDLE's DONE
        tag, name = words
        if self._token is not None and self.gate.tokens.expired(self._token):
            self.gate.expiries += 1
            await self._when_quiet()
            if self.gate.on_expiry == "bye":
                self._client.write(EXPIRED_BYE)
                await self._client.drain()
                return False
            self._client.write(f"{tag} {EXPIRED_NO}\r\n".encode("ascii"))
            self._refusing = True
            return True
        if name == "AUTHENTICATE":
            self._authenticating(tag, line)
        delay = self.gate.command_delay.get(name)
        if delay:
            await self._server.drain()
            await asyncio.sleep(delay)
        self._outstanding.add(tag)
        self._quiet.clear()
        return True

    def _authenticating(self, tag: str, line: bytes) -> None:
        words = line.rstrip(b"\r\n").split(b" ")
        if len(words) < 4 or words[2].upper() != b"XOAUTH2":
            return
        try:
            fields = base64.b64decode(words[3], validate=True).split(b"\x01")
        except ValueError:
            return
        user = token = ""
        for item in fields:
            key, _, value = item.partition(b"=")
            if key == b"user":
                user = value.decode("utf-8", "replace")
            elif key == b"auth" and value.lower().startswith(b"bearer "):
                token = value[7:].decode("ascii", "replace")
        if user and token:
            self.gate.tokens.bind(token, user)
            self._login = (tag, token)

    async def _when_quiet(self) -> None:
        """Until every forwarded command is answered and no response is half sent."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), QUIET_TIMEOUT)

    async def _server_to_client(self) -> None:
        while data := await self._server_reader.read(CHUNK):
            for piece in self._down.feed(data):
                if piece.is_line and piece.first:
                    self._response(piece.data)
                self._client.write(piece.data)
            await self._client.drain()
            if not self._outstanding and self._down.at_boundary:
                self._quiet.set()

    def _response(self, line: bytes) -> None:
        tag, status = response_words(line)
        if tag in ("*", "+"):
            return
        self._outstanding.discard(tag)
        if self._login is not None and self._login[0] == tag:
            if status == "OK":
                self._token = self._login[1]
                self.gate.logins += 1
            self._login = None
