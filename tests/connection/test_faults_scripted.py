"""Connection behaviour against misbehaving peers (see scripted_server.py for why scripted)."""

from __future__ import annotations

import asyncio
import base64

import pytest

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.errors import (
    AuthenticationError,
    CommandTimeout,
    ConnectionLost,
    RemoteProtocolError,
    ServerBye,
    StartTlsUnavailable,
    Throttled,
)
from mailferry.values.connection import AuthMethod, Security
from tests.connection.scripted_server import GREETING, ScriptedServer, read_command


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


def options(port: int, **kw: object) -> ConnectOptions:
    return ConnectOptions("127.0.0.1", port, Security.NONE, **kw)  # type: ignore[arg-type]


def test_silent_server_times_out_the_command() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        await reader.readline()  # the NOOP: never answered
        await asyncio.sleep(10)

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port, command_timeout=0.5))
            with pytest.raises(CommandTimeout) as caught:
                await client.noop()
            assert caught.value.transient
            assert "NOOP" in str(caught.value)
            await client.logout()

    run(main())


def test_greeting_timeout_is_reported() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        await asyncio.sleep(10)

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            with pytest.raises(Exception) as caught:
                await ImapClient.connect(options(server.port, connect_timeout=0.5))
            assert "greeting timed out after 0.5 s" in str(caught.value)

    run(main())


def test_throttled_answer_carries_the_suggested_backoff() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        tag, _ = await read_command(reader)
        writer.write(
            f"{tag} NO [THROTTLED] Request is throttled. "
            "Suggested Backoff Time: 1500 ms\r\n".encode()
        )
        await reader.readline()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            with pytest.raises(Throttled) as caught:
                await client.noop()
            assert caught.value.backoff_seconds == 1.5
            assert caught.value.transient
            await client.logout()

    run(main())


def test_bye_then_close_mid_fetch_raises_server_bye() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        _, rest = await read_command(reader)
        assert rest.startswith("UID FETCH")
        writer.write(b"* 1 FETCH (UID 1 BODY[] {5}\r\nab")
        writer.write(b"* BYE Request is throttled. Suggested Backoff Time: 200 ms\r\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            with pytest.raises((ServerBye, ConnectionLost, RemoteProtocolError)):
                await client.fetch_all("1:*")
            await client.logout()

    run(main())


def test_cut_in_the_middle_of_a_literal_raises_connection_lost() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        await read_command(reader)
        writer.write(b"* 1 FETCH (UID 1 BODY[] {100000}\r\n" + b"x" * 5000)
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            with pytest.raises(ConnectionLost) as caught:
                await client.fetch_all("1:*")
            assert caught.value.transient
            assert client.connection.broken is not None
            with pytest.raises(ConnectionLost):
                await client.noop()  # a dead connection refuses further commands at once
            await client.logout()

    run(main())


def test_bye_with_reason_is_reported() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        await read_command(reader)
        writer.write(b"* BYE Too many connections from your IP\r\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            with pytest.raises(ServerBye) as caught:
                await client.noop()
            assert "Too many connections" in caught.value.text
            await client.logout()

    run(main())


def test_xoauth2_exchange_and_error_challenge() -> None:
    seen: list[str] = []

    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(GREETING)
        tag, rest = await read_command(reader)
        seen.append(rest)
        error = base64.b64encode(b'{"status":"401","schemes":"bearer"}').decode()
        writer.write(f"+ {error}\r\n".encode())
        answer = await reader.readline()
        seen.append(answer.decode())
        writer.write(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n".encode())
        await reader.readline()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            credentials = Credentials("terry@contoso.edu", "tok123", method=AuthMethod.XOAUTH2)
            with pytest.raises(AuthenticationError) as caught:
                await client.login(credentials)
            assert "Invalid credentials" in str(caught.value)
            assert '"status":"401"' in str(caught.value)
            assert "tok123" not in str(caught.value)
            await client.logout()

    run(main())
    method, initial = seen[0].split(" ")[1:3]
    assert method == "XOAUTH2"
    decoded = base64.b64decode(initial)
    assert decoded == b"user=terry@contoso.edu\x01auth=Bearer tok123\x01\x01"
    assert seen[1] == "\r\n"


def test_starttls_not_offered_refuses_to_continue_in_clear() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n")
        await reader.readline()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            with pytest.raises(StartTlsUnavailable):
                await ImapClient.connect(ConnectOptions("127.0.0.1", server.port, Security.TLS))
            assert server.received == []

    run(main())


def test_bytes_injected_after_starttls_ok_are_refused() -> None:
    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")
        tag, _ = await read_command(reader)
        writer.write(
            f"{tag} OK go ahead\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] evil\r\n".encode()
        )
        await writer.drain()
        await reader.read(100)

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            with pytest.raises(RemoteProtocolError, match="injected"):
                await ImapClient.connect(
                    ConnectOptions("127.0.0.1", server.port, Security.TLS, connect_timeout=3)
                )

    run(main())


def test_login_disabled_falls_back_to_plain_and_secrets_stay_out_of_errors() -> None:
    commands: list[str] = []

    async def handler(reader, writer):  # type: ignore[no-untyped-def]
        writer.write(b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN] hi\r\n")
        tag, rest = await read_command(reader)
        commands.append(rest)
        writer.write(b"+ \r\n")
        commands.append((await reader.readline()).decode().strip())
        writer.write(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".encode())
        await reader.readline()

    async def main() -> None:
        async with ScriptedServer(handler) as server:
            client = await ImapClient.connect(options(server.port))
            with pytest.raises(AuthenticationError) as caught:
                await client.login(Credentials("terry", "s3cr3t-pw"))
            assert "AUTHENTICATIONFAILED" in str(caught.value)
            assert "s3cr3t-pw" not in str(caught.value)
            await client.logout()

    run(main())
    assert commands[0] == "AUTHENTICATE PLAIN"  # no SASL-IR advertised: initial response after +
    assert base64.b64decode(commands[1]) == b"\x00terry\x00s3cr3t-pw"
