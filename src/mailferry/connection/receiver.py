"""Receiving bytes: an ``asyncio.BufferedProtocol`` that fills the parser's own buffer.

The socket (or the TLS layer) receives straight into the response parser's
buffer (``get_buffer`` / ``buffer_updated``): no StreamReader, no copy between
the kernel and the parser. The connection's reader task waits with
``receive()`` and then drains the parser's events. Backpressure: once the
parser holds ``high_water`` unread bytes (the reader task is busy, or waits
for a full fetch queue), reading pauses; the next ``receive()`` resumes it.
With COMPRESS=DEFLATE the compressed bytes are collected instead and
``receive()`` inflates them in bounded pieces into the parser.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Protocol, cast

from mailferry.errors import ConnectionLost, RemoteProtocolError

_INFLATE_PIECE = 256 * 1024  # most inflated bytes handed to the parser per receive()


class ReceiveTarget(Protocol):
    """Where received bytes go: ``ResponseParser`` implements this."""

    def get_buffer(self, sizehint: int) -> memoryview: ...

    def buffer_updated(self, nbytes: int) -> None: ...

    def feed(self, data: bytes) -> None: ...

    @property
    def unread(self) -> int: ...


class Receiver(asyncio.BufferedProtocol):
    """The protocol of one connection: receiving, end of stream, write flow control."""

    def __init__(self, target: ReceiveTarget, high_water: int) -> None:
        self.transport: asyncio.Transport | None = None
        self._target = target
        self._high_water = high_water
        self._fresh = False  # bytes arrived since the last receive()
        self._eof = False
        self._lost: Exception | None = None
        self.paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._inflate: zlib._Decompress | None = None
        self._inflate_pending = False  # the last piece was full: more output may be waiting
        self._compressed = bytearray()
        self._scratch = memoryview(bytearray(0))
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio callbacks -----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._inflate is None:
            return self._target.get_buffer(sizehint)
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        if self._inflate is None:
            self._target.buffer_updated(nbytes)
            held = self._target.unread
        else:
            self._compressed += self._scratch[:nbytes]
            held = len(self._compressed)
        self._fresh = True
        if held >= self._high_water and not self.paused:
            self._pause()
        self._wake()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()
        self._wake_writer()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()

    # -- used by the reader task and Transport ------------------------------------

    async def receive(self) -> bool:
        """Wait until new bytes are in the target; False at the end of the stream."""
        while True:
            if self._inflate is not None:
                self._fresh = False
                if self._inflate_some():
                    return True
            elif self._fresh:
                self._fresh = False
                return True
            if self._eof:
                if self._lost is not None:
                    raise ConnectionLost(f"connection lost while reading: {self._lost}")
                return False
            if self.paused:
                self._resume()
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def drain(self) -> None:
        """Wait while the transport's write buffer is over its limit."""
        while True:
            if self.closed.done():
                raise ConnectionLost(f"connection lost while writing: {self._lost or 'closed'}")
            if not self._write_paused:
                return
            waiter = self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._drain_waiter = None

    def switched(self, transport: asyncio.Transport) -> None:
        """The stream now runs over ``transport`` (after STARTTLS), not paused."""
        self.transport = transport
        self.paused = False

    def start_inflating(self, leftover: bytes) -> None:
        """From now on the bytes are raw DEFLATE; ``leftover`` arrived already."""
        self._inflate = zlib.decompressobj(-15)
        self._compressed = bytearray(leftover)
        self._scratch = memoryview(bytearray(64 * 1024))
        self._fresh = bool(leftover)

    # -- internals -------------------------------------------------------------------

    def _inflate_some(self) -> bool:
        """Inflate one bounded piece into the target; False when more input is needed."""
        assert self._inflate is not None
        if not self._compressed and not self._inflate_pending:
            return False
        try:
            data = self._inflate.decompress(self._compressed, _INFLATE_PIECE)
        except zlib.error as exc:
            raise RemoteProtocolError(f"corrupt COMPRESS=DEFLATE stream: {exc}") from None
        del self._compressed[: len(self._compressed) - len(self._inflate.unconsumed_tail)]
        self._inflate_pending = len(data) == _INFLATE_PIECE
        if data:
            self._target.feed(data)
        return bool(data)

    def _pause(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
            self.paused = True

    def _resume(self) -> None:
        self.paused = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
