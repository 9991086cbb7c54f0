"""The one place where CLI errors become words and exit codes."""

from __future__ import annotations

from mailferry.errors import (
    AuthenticationError,
    CommandFailed,
    ConnectFailed,
    ConnectTimeout,
    MailferryError,
    ProtocolError,
    StartTlsUnavailable,
    TlsError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def describe(error: MailferryError) -> str:
    """A one-line reason an administrator can act on."""
    if isinstance(error, ConnectFailed):
        if error.stage == "dns":
            return f"DNS: {error.host!r} {error.reason}"
        return f"TCP connect to {error.host}:{error.port} failed: {error.reason}"
    if isinstance(error, ConnectTimeout):
        return f"{error.stage} timed out after {error.seconds:g} s"
    if isinstance(error, TlsError):
        return f"TLS: {error.reason}"
    if isinstance(error, StartTlsUnavailable):
        return "STARTTLS not offered by the server (Security Tls); refusing to continue in clear"
    if isinstance(error, AuthenticationError):
        return f"authentication failed: {error.reason}"
    if isinstance(error, CommandFailed):
        return str(error)
    if isinstance(error, ProtocolError):
        return f"protocol error: {error}"
    return str(error)
