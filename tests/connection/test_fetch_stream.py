"""Streaming FETCH against a scripted peer: whole/streamed/spooled bodies, backpressure,
early exit, and compressed bytes that arrive together with COMPRESS's OK."""

from __future__ import annotations

import asyncio
import re
import zlib

from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.imap.events import Exists
from mailferry.values.connection import Security
from tests.connection.scripted_server import GREETING, ScriptedServer, read_command

_RANGE = re.compile(r"UID FETCH ([0-9]+):([0-9]+|\*) ")


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


def body_of(uid: int, size: int) -> bytes:
    return bytes([65 + uid % 26]) * size


def fetch_server(sizes: list[int]):  # type: ignore[no-untyped-def]
    """A peer answering each ``UID FETCH a:b`` with messages a..b of ``sizes`` (UIDs from 1)."""

    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        while True:
            tag, rest = await read_command(reader)
            match = _RANGE.match(rest)
            if match:
                last = len(sizes) if match.group(2) == "*" else int(match.group(2))
                for uid in range(int(match.group(1)), last + 1):
                    body = body_of(uid, sizes[uid - 1])
                    writer.write(
                        b"* %d FETCH (UID %d FLAGS (\\Seen) BODY[] {%d}\r\n%s)\r\n"
                        % (uid, uid, len(body), body)
                    )
                    await writer.drain()
            writer.write(f"{tag} OK done\r\n".encode())

    return handler


def options(port: int, **kw: object) -> ConnectOptions:
    return ConnectOptions("127.0.0.1", port, Security.NONE, **kw)  # type: ignore[arg-type]


def test_small_bodies_whole_large_ones_streamed_and_spooled() -> None:
    sizes = [10, 0, 40_000, 50_000, 50_001, 300_000, 7]

    async def main() -> None:
        async with ScriptedServer(fetch_server(sizes)) as server:
            client = await ImapClient.connect(
                options(server.port, spool_threshold=50_000, read_chunk=64 * 1024)
            )
            messages = await client.fetch_all("1:*")
            assert [m.uid for m in messages] == list(range(1, len(sizes) + 1))
            for message, size in zip(messages, sizes, strict=True):
                assert message.body is not None and message.uid is not None
                assert message.body.read() == body_of(message.uid, size)
                assert message.body.spooled == (size > 50_000)
                assert message.flags == ("\\Seen",)
                message.close()
            await client.logout()

    run(main())


def test_a_slow_consumer_pauses_reading_and_loses_nothing() -> None:
    sizes = [20_000] * 600  # 12 MB: far more than the parser and the queue may hold

    async def main() -> None:
        async with ScriptedServer(fetch_server(sizes)) as server:
            client = await ImapClient.connect(options(server.port, read_chunk=64 * 1024))
            transport = client.connection.transport
            seen: list[int] = []
            paused = False
            async for message in client.fetch_messages("1:*"):
                if not seen:
                    for _ in range(200):  # bounded: the reader fills up and stops reading
                        await asyncio.sleep(0.01)
                        if transport.reading_paused:
                            break
                    paused = transport.reading_paused
                    assert client.connection.unparsed <= 4 * 64 * 1024
                assert message.uid is not None and message.body is not None
                assert message.body.read() == body_of(message.uid, 20_000)
                seen.append(message.uid)
                message.close()
            assert paused
            assert seen == list(range(1, len(sizes) + 1))
            await client.logout()

    run(main())


def test_a_consumer_may_stop_early_and_use_the_connection_again() -> None:
    sizes = [30_000] * 200

    async def main() -> None:
        async with ScriptedServer(fetch_server(sizes)) as server:
            client = await ImapClient.connect(options(server.port, spool_threshold=10_000))
            async for message in client.fetch_messages(range(1, 201), chunk=50):
                message.close()
                if message.uid == 3:
                    break
            await client.noop()
            again = await client.fetch_all(range(101, 111))
            assert [m.uid for m in again] == list(range(101, 111))
            assert all(m.body is not None and m.body.spooled for m in again)
            for message in again:
                message.close()
            await client.logout()

    run(main())


def test_compressed_bytes_that_come_with_the_ok_are_inflated() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(b"* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready\r\n")
        tag, rest = await read_command(reader)
        assert rest == "COMPRESS DEFLATE"
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        early = deflate.compress(b"* 3 EXISTS\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH)
        writer.write(f"{tag} OK compressing\r\n".encode() + early)  # one write: one segment
        inflate = zlib.decompressobj(-15)
        line = b""
        while not line.endswith(b"\r\n"):
            line += inflate.decompress(await reader.read(100))
        tag = line.split(b" ", 1)[0].decode()
        answer = f"* 4 EXISTS\r\n{tag} OK noop\r\n".encode()
        writer.write(deflate.compress(answer) + deflate.flush(zlib.Z_SYNC_FLUSH))
        await reader.read(100)

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            assert await client.compress()
            result = await client.noop()
            assert Exists(4) in result.untagged
            assert client.connection.broken is None
            await client.connection.close()

    run(main())


def test_unsolicited_flag_updates_between_runs_go_aside() -> None:
    """Runs of FLAGS-only updates (another client's changes) never reach the consumer."""
    sizes = [30] * 40

    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        while True:
            tag, rest = await read_command(reader)
            if _RANGE.match(rest):
                for uid in range(1, len(sizes) + 1):
                    body = body_of(uid, sizes[uid - 1])
                    writer.write(
                        b"* %d FETCH (UID %d FLAGS (\\Seen) BODY[] {%d}\r\n%s)\r\n"
                        % (uid, uid, len(body), body)
                    )
                    if uid % 10 == 0:  # a run of updates of other messages
                        for seq in range(100, 105):
                            writer.write(b"* %d FETCH (FLAGS (\\Deleted))\r\n" % seq)
                await writer.drain()
            writer.write(f"{tag} OK done\r\n".encode())

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            messages = [message async for message in client.fetch_messages("1:*")]
            assert [m.uid for m in messages] == list(range(1, 41))
            assert all(m.body and m.body.read() == body_of(m.uid or 0, 30) for m in messages)
            assert len(client.unsolicited) == 20
            assert {(m.seq, m.flags, m.uid) for m in client.unsolicited} == {
                (seq, ("\\Deleted",), None) for seq in range(100, 105)
            }
            for message in messages:
                message.close()
            await client.logout()

    run(main())
