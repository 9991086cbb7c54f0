"""A fault-injecting IMAP proxy on loopback, in front of a real server (the rig's Dovecot).

It forwards bytes both ways and, on cue, injects into the server-to-client stream what
misbehaving servers and middleboxes do: lying literal sizes, throttling refusals,
BYE and cut connections. It runs its own event loop in a background thread, so sync
tests (and async ones, in their own loop) use it alike::

    with FaultProxy("127.0.0.1", dovecot.imap_port) as proxy:
        proxy.throttle("APPEND", 3)            # the next 3 APPENDs get NO [THROTTLED]
        ... connect to 127.0.0.1:proxy.port with Security None ...
        assert proxy.counts().fault("throttle") == 3

Faults are armed for the whole proxy (every connection through it) and are consumed
as they fire; ``clear()`` disarms the rest. Only plain IMAP can be faulted: after
STARTTLS or COMPRESS the connection is passed on unparsed (a cut still works).
Every wait is bounded; ``close()`` stops the loop, its connections and its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from mailferry.rig.errors import RigError
from mailferry.rig.fault_plan import BUSY_BYE, THROTTLED_TEXT, FaultPlan, ProxyCounts
from mailferry.rig.fault_session import FaultSession

__all__ = ["BUSY_BYE", "THROTTLED_TEXT", "FaultProxy", "ProxyCounts"]

CONNECT_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
_GONE = (ConnectionError, OSError, TimeoutError)


class FaultProxy:
    """Listens on ``127.0.0.1:self.port`` and forwards each connection to ``host:port``."""

    def __init__(self, host: str, port: int, *, start_timeout: float = 5.0) -> None:
        self.upstream = (host, port)
        self.failures: list[str] = []  # unexpected errors in the proxy itself (bugs)
        self._plan = FaultPlan()
        self._start_timeout = start_timeout
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"fault-proxy-{self.port}")
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._sessions: set[FaultSession] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._started = False
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> FaultProxy:
        if self._started:
            return self
        self._started = True
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            self.close()
            raise RigError(f"fault proxy on port {self.port} did not start")
        return self

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc_type is None and self.failures:
            raise RigError(f"fault proxy failed: {'; '.join(self.failures)}")

    def close(self) -> None:
        """Stop accepting, drop every connection, end the loop and its thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            stop = self._stop
            if stop is not None:
                self._loop.call_soon_threadsafe(stop.set)
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                raise RigError(f"fault proxy on port {self.port}: its thread did not stop")
        self._listener.close()
        self._loop.close()

    # -- faults -----------------------------------------------------------------------

    def inflate_literals(self, extra: int, *, every: int = 1, limit: int | None = None) -> None:
        """Announce message literals (``BODY[] {N}``, ``RFC822 {N}``…) as ``{N+extra}``
        without adding bytes: the client reads ``extra`` bytes beyond the message.
        ``every``: only each every-th such literal from now; ``limit``: that many in all
        (None: until ``clear()``)."""
        self._plan.literals(_positive(extra, "extra"), every, limit)

    def deflate_literals(self, fewer: int, *, every: int = 1, limit: int | None = None) -> None:
        """Announce message literals as ``{N-fewer}`` (at least 0): the client stops short
        and reads the rest of the message as protocol."""
        self._plan.literals(-_positive(fewer, "fewer"), every, limit)

    def throttle(self, command: str, times: int, *, text: str = THROTTLED_TEXT) -> None:
        """Answer the next ``times`` client commands named ``command`` (``APPEND``,
        ``UID FETCH``, ``SELECT``, ``LOGIN``…; case-insensitive) with ``<tag> text``
        instead of forwarding them. A synchronizing literal of such a command is refused
        before the client sends it; a non-synchronizing one is swallowed."""
        self._plan.throttle(command, times, text)

    def bye_after_commands(
        self, n: int, text: str = BUSY_BYE, *, command: str | None = None
    ) -> None:
        """The n-th client command from now (counting only those named ``command`` if
        given) is not forwarded: the proxy answers it with the untagged ``text`` and
        closes that connection (the server's side too)."""
        self._plan.bye(n, text, command)

    def cut_after(self, downstream_bytes: int) -> None:
        """Abort the connection that carries the byte after ``downstream_bytes`` more
        bytes to clients (counted over every connection, from now)."""
        self._plan.cut(downstream_bytes)

    def clear(self) -> None:
        """Disarm every fault not yet fired."""
        self._plan.clear()

    # -- counters ---------------------------------------------------------------------

    def counts(self) -> ProxyCounts:
        return self._plan.counts()

    def wait_until(
        self, condition: Callable[[ProxyCounts], bool], timeout: float = 5.0
    ) -> ProxyCounts:
        """Poll the counters until ``condition`` holds; ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            if condition(counts):
                return counts
            if time.monotonic() >= deadline:
                raise TimeoutError(f"fault proxy counters after {timeout:g} s: {counts}")
            time.sleep(0.01)

    # -- the loop thread --------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            with contextlib.suppress(RuntimeError):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._accept, sock=self._listener)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for session in list(self._sessions):
                session.kill()
            if self._handlers:
                await asyncio.wait(list(self._handlers), timeout=STOP_TIMEOUT)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._plan.connection(+1)
        try:
            await self._proxy(reader, writer)
        except Exception as error:  # a bug here must show in the test, not vanish
            self.failures.append(f"{type(error).__name__}: {error}")
        finally:
            await _closed(writer)
            self._plan.connection(-1)
            self._handlers.discard(task)

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            return  # the client sees its connection closed, as with a dead server
        for side in (writer, upstream[1]):
            _no_delay(side)
        session = FaultSession(self._plan, (reader, writer), upstream)
        self._sessions.add(session)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """TCP_NODELAY: asyncio sets it only on sockets made with IPPROTO_TCP, and the
    listener's accepted ones are not; without it a reply written in pieces waits for
    the peer's delayed ACK (~40 ms a command)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Let a graceful close (after our BYE) send its last bytes; abort anything else."""
    if not writer.transport.is_closing():
        writer.transport.abort()
    with contextlib.suppress(*_GONE):
        await asyncio.wait_for(writer.wait_closed(), STOP_TIMEOUT)


def _positive(value: int, what: str) -> int:
    if value < 1:
        raise RigError(f"{what} must be at least 1, got {value}")
    return value
