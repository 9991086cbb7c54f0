"""A loopback TCP proxy in front of a real server that can cut the connection on cue.

Used to drop a real Dovecot connection in the middle of a FETCH: the bytes
are Dovecot's own, only the cut is ours.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to ``host:port``; ``cut_after(n)`` aborts after n more bytes."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._server: asyncio.Server | None = None
        self._budget: int | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    def cut_after(self, downstream_bytes: int) -> None:
        self._budget = downstream_bytes

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for writer in self._writers:
            writer.transport.abort()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [writer, up_writer]
        upstream = asyncio.create_task(self._pump(reader, up_writer, downstream=False))
        try:
            await self._pump(up_reader, writer, downstream=True)
        finally:
            upstream.cancel()
            for w in (writer, up_writer):
                w.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if downstream and self._budget is not None:
                    if len(data) >= self._budget:
                        writer.write(data[: self._budget])
                        await writer.drain()
                        writer.transport.abort()
                        return
                    self._budget -= len(data)
                writer.write(data)
                await writer.drain()
