"""The one place where CLI errors become words and exit codes."""

from __future__ import annotations

import functools

from mailferry.errors import (
    AuthenticationError,
    CommandFailed,
    ConnectFailed,
    ConnectTimeout,
    ContentFilterError,
    MailferryError,
    ProtocolError,
    StartTlsUnavailable,
    TlsError,
)

EXIT_OK = 0
"""Done: every user synced (or verified equal), the record printed, the action taken."""
EXIT_FAILED = 1
"""The command ran and something failed: a user failed, is incomplete or differs, a
server could not be reached or refused, no such batch/endpoint/user (or one already
exists), the action is not allowed in the current status."""
EXIT_USAGE = 2
"""Nothing was done because of what was given: a bad option or setting, a CSV that
was refused, a content filter or target that can't be used (click's usage errors
exit 2 too)."""


def exit_code(error: MailferryError) -> int:
    """EXIT_USAGE for an error in what the caller gave, else EXIT_FAILED."""
    return EXIT_USAGE if isinstance(error, _bad_input()) else EXIT_FAILED


@functools.cache
def _bad_input() -> tuple[type[MailferryError], ...]:
    """Imported on first use, when an error is already there (the CLI starts lighter)."""
    from mailferry.service.migration_spec import TargetSpecError
    from mailferry.service.service_errors import InvalidSetting
    from mailferry.service.users_csv.problems import CsvValidationError

    return (CsvValidationError, InvalidSetting, TargetSpecError, ContentFilterError)


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
