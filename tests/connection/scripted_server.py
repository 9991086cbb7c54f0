"""A tiny scripted IMAP peer on 127.0.0.1, for faults Dovecot can't be made to commit.

Real Dovecot is used wherever it can show a behaviour; this exists only for a
server that stalls, throttles, sends BYE mid-command, speaks XOAUTH2 or
injects bytes after STARTTLS — misbehaviour no well-configured Dovecot shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ScriptedServer:
    """Runs ``handler(reader, writer)`` for each connection; ``async with`` it."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self.port = 0
        self.received: list[bytes] = []

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._run, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def read_command(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The next command line as (tag, rest)."""
    line = (await reader.readline()).decode()
    if not line:
        raise ConnectionError("client went away")
    tag, _, rest = line.rstrip("\r\n").partition(" ")
    return tag, rest


GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR LITERAL+] ready\r\n"
