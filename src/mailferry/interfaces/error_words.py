"""The words an administrator reads for an error: the same in the CLI and the API.

``describe`` is a one-line (a refused CSV: one line per problem) reason an administrator
can act on. It holds no secret: errors never carry passwords or tokens, and a
``user:password@`` someone typed into a URL is masked before it is shown back. Making
the text safe for a terminal is the CLI's business (``cli/safe_text.py``); JSON carries
it exactly.
"""

from __future__ import annotations

import re

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

_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")


def describe(error: MailferryError) -> str:
    """A reason an administrator can act on (no secrets)."""
    return mask_userinfo(_words(error))


def mask_userinfo(text: str) -> str:
    """``imap://user:secret@host`` shown as ``imap://***@host``."""
    return _USERINFO.sub("***@", text)


def _words(error: MailferryError) -> str:
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
