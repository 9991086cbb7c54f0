"""``-Authentication Ntlm`` (Exchange sources offer AUTHENTICATE NTLM).

A FAKE server: Debian 12's Dovecot 2.3.19 has no NTLM mechanism (its auth process
stops with "Unknown authentication mechanism 'NTLM'"), and no other Debian IMAP server
here offers it. The fake speaks just enough IMAP (greeting, AUTHENTICATE NTLM,
CAPABILITY, LOGOUT) on loopback and checks the NTLMv2 messages with ``pyspnego``'s
acceptor against a credential file, so a wrong password is really refused. The client
side is the product's own: ``connection.auth.authenticate`` with ``AuthMethod.NTLM``.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.connection.auth import Credentials, authenticate
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.errors import AuthenticationError
from mailferry.values.connection import AuthMethod, Security

USER, PASSWORD = "CONTOSO\\terry", "Sommer-2026!"


@pytest.fixture
def users_file(tmp_path: Path) -> Iterator[None]:
    path = tmp_path / "ntlm-users"
    path.write_text("CONTOSO:terry:Sommer-2026!\n")
    before = os.environ.get("NTLM_USER_FILE")
    os.environ["NTLM_USER_FILE"] = str(path)  # read by pyspnego's acceptor (the fake's)
    yield
    if before is None:
        os.environ.pop("NTLM_USER_FILE")
    else:
        os.environ["NTLM_USER_FILE"] = before


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> None:
    import spnego

    caps = "IMAP4rev1" + (" AUTH=NTLM" if offer else "")
    writer.write(f"* OK [CAPABILITY {caps}] fake NTLM server\r\n".encode())
    while line := await asyncio.wait_for(reader.readline(), 10):
        tag, _, command = line.decode().strip().partition(" ")
        if command.upper() == "AUTHENTICATE NTLM":
            acceptor = spnego.server(protocol="ntlm")
            try:
                writer.write(b"+ \r\n")
                negotiate = base64.b64decode(await reader.readline())
                challenge = acceptor.step(negotiate) or b""
                writer.write(b"+ " + base64.b64encode(challenge) + b"\r\n")
                acceptor.step(base64.b64decode(await reader.readline()))
                writer.write(f"{tag} OK [CAPABILITY {caps}] logged in\r\n".encode())
            except Exception:
                writer.write(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".encode())
        elif command.upper() == "CAPABILITY":
            writer.write(f"* CAPABILITY {caps}\r\n{tag} OK done\r\n".encode())
        elif command.upper() == "LOGOUT":
            writer.write(f"* BYE bye\r\n{tag} OK done\r\n".encode())
            break
        else:
            writer.write(f"{tag} BAD unknown\r\n".encode())
        await writer.drain()
    writer.close()


async def _login(password: str, *, offer: bool = True) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, offer), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = await ImapClient.connect(ConnectOptions("127.0.0.1", port, security=Security.NONE))
        try:
            await authenticate(client.connection, Credentials(USER, password, "", AuthMethod.NTLM))
        finally:
            await client.logout()
    finally:
        server.close()
        await server.wait_closed()


def test_ntlm_logs_in_and_a_wrong_password_is_refused(users_file: None) -> None:
    asyncio.run(asyncio.wait_for(_login(PASSWORD), 30))
    with pytest.raises(AuthenticationError, match="AUTHENTICATIONFAILED"):
        asyncio.run(asyncio.wait_for(_login("not-the-password"), 30))


def test_a_server_without_ntlm_is_named(users_file: None) -> None:
    with pytest.raises(AuthenticationError, match="does not offer AUTHENTICATE NTLM"):
        asyncio.run(asyncio.wait_for(_login(PASSWORD, offer=False), 30))


def test_ntlm_is_an_endpoint_authentication() -> None:
    assert AuthMethod.parse("ntlm") is AuthMethod.NTLM
