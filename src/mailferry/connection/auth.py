"""Logging in: LOGIN, AUTHENTICATE PLAIN (with an authorization identity), XOAUTH2.

``Basic`` is LOGIN falling back to AUTHENTICATE PLAIN, the way Exchange's
``-Authentication Basic`` behaves: PLAIN is tried only when LOGIN is not
available (LOGINDISABLED, or LOGIN refused with BAD), never after a wrong
password, so one bad password costs one failed attempt, not two.

Secrets never appear in errors: only the server's words do.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from mailferry.connection.core import ImapConnection
from mailferry.errors import AuthenticationError, TokenRefused
from mailferry.imap.commands import Atom, Literal, sasl_plain_initial, xoauth2_initial
from mailferry.values.connection import AuthMethod


@dataclass(frozen=True)
class Credentials:
    """Who logs in. ``authzid`` is the user an admin acts as (SASL PLAIN).

    For XOAUTH2 ``secret`` is the access token. ``repr`` hides the secret.
    """

    username: str
    secret: str
    authzid: str = ""
    method: AuthMethod = AuthMethod.BASIC

    def __repr__(self) -> str:
        return (
            f"Credentials(username={self.username!r}, authzid={self.authzid!r}, "
            f"method={self.method.value}, secret=<hidden>)"
        )


async def authenticate(connection: ImapConnection, credentials: Credentials) -> None:
    """Log in with the credentials' method; raises ``AuthenticationError``."""
    if credentials.method is AuthMethod.XOAUTH2:
        await _xoauth2(connection, credentials.username, credentials.secret)
    elif credentials.method is AuthMethod.NTLM:
        await ntlm_login(connection, credentials.username, credentials.secret)
    elif credentials.method is AuthMethod.PLAIN or credentials.authzid:
        await _plain(connection, credentials.username, credentials.secret, credentials.authzid)
    else:
        await _basic(connection, credentials.username, credentials.secret)
    if not _fresh_capabilities_sent(connection):
        await connection.command("CAPABILITY")


async def _basic(connection: ImapConnection, username: str, password: str) -> None:
    if connection.has_capability("LOGINDISABLED"):
        if not connection.has_capability("AUTH=PLAIN"):
            raise AuthenticationError("the server advertises LOGINDISABLED and no AUTH=PLAIN")
        await _plain(connection, username, password, "")
        return
    try:
        await _login(connection, username, password)
    except _LoginUnsupported:
        await _plain(connection, username, password, "")


class _LoginUnsupported(Exception):
    pass


async def _login(connection: ImapConnection, username: str, password: str) -> None:
    result = await connection.command(
        "LOGIN", _secret_arg(username), _secret_arg(password), check=False
    )
    tagged = result.tagged
    if tagged.status == "OK":
        return
    if tagged.status == "BAD" and connection.has_capability("AUTH=PLAIN"):
        raise _LoginUnsupported
    raise AuthenticationError(_reason(tagged.code.name if tagged.code else None, tagged.text))


def _secret_arg(value: str) -> str | Literal:
    """A login string: quoted when safe, a literal when it has 8-bit or quotes."""
    if value.isascii() and '"' not in value and "\\" not in value:
        return value
    return Literal(value.encode("utf-8"))


async def _plain(connection: ImapConnection, authcid: str, password: str, authzid: str) -> None:
    if not connection.has_capability("AUTH=PLAIN"):
        raise AuthenticationError("the server does not offer AUTHENTICATE PLAIN")
    initial = sasl_plain_initial(authcid, password, authzid)
    await _sasl(connection, "PLAIN", initial)


async def _xoauth2(connection: ImapConnection, username: str, token: str) -> None:
    if not connection.has_capability("AUTH=XOAUTH2"):
        raise AuthenticationError("the server does not offer AUTHENTICATE XOAUTH2")
    try:
        await _sasl(connection, "XOAUTH2", xoauth2_initial(username, token))
    except AuthenticationError as refused:
        raise TokenRefused(refused.reason) from refused


async def ntlm_login(connection: ImapConnection, username: str, password: str) -> None:
    """AUTHENTICATE NTLM (what Exchange sources offer as -Authentication Ntlm): the
    NEGOTIATE / CHALLENGE / AUTHENTICATE exchange made by ``pyspnego`` (Microsoft's
    NTLMv2, in pure Python); ``DOMAIN\\user`` or ``user@domain`` as the server wants."""
    if not connection.has_capability("AUTH=NTLM"):
        raise AuthenticationError("the server does not offer AUTHENTICATE NTLM")
    import spnego

    context = spnego.client(username, password, protocol="ntlm")
    sent: list[bytes] = []

    def respond(challenge: str) -> bytes:
        incoming = base64.b64decode(challenge) if challenge.strip() else None
        token = context.step(incoming) or b""
        sent.append(token)
        return base64.b64encode(token)

    result = await connection.command("AUTHENTICATE", Atom("NTLM"), responder=respond, check=False)
    tagged = result.tagged
    if tagged.status != "OK":
        raise AuthenticationError(_reason(tagged.code.name if tagged.code else None, tagged.text))


async def _sasl(connection: ImapConnection, mechanism: str, initial: str) -> None:
    """AUTHENTICATE with SASL-IR when offered, else answering the first ``+``."""
    answered: list[str] = []

    def respond(challenge: str) -> bytes:
        if not answered:
            answered.append(challenge)
            return b"" if connection.has_capability("SASL-IR") else initial.encode("ascii")
        answered.append(_decode_challenge(challenge))
        return b""  # an error challenge (XOAUTH2 sends JSON): the empty answer ends it

    args: tuple[Atom, ...] = (Atom(mechanism),)
    if connection.has_capability("SASL-IR"):
        args += (Atom(initial or "="),)
        answered.append("")
    result = await connection.command("AUTHENTICATE", *args, responder=respond, check=False)
    tagged = result.tagged
    if tagged.status != "OK":
        detail = answered[-1] if len(answered) > 1 else ""
        reason = _reason(tagged.code.name if tagged.code else None, tagged.text)
        raise AuthenticationError(f"{reason} {detail}".strip())


def _decode_challenge(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return text


def _reason(code: str | None, text: str) -> str:
    return f"[{code}] {text}" if code else text


def _fresh_capabilities_sent(connection: ImapConnection) -> bool:
    """Servers change CAPABILITY after login; most send it in the OK's code."""
    tagged = connection.last_tagged
    return tagged is not None and tagged.code is not None and tagged.code.name == "CAPABILITY"
