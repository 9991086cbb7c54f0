"""The one place where CLI errors become words and exit codes.

The words are the API's too (``interfaces/error_words.py``); every command prints them
once, after ``ERROR_PREFIX``.
"""

from __future__ import annotations

from mailferry.errors import InputError, MailferryError
from mailferry.interfaces.error_words import describe

__all__ = ["ERROR_PREFIX", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "describe", "exit_code"]

ERROR_PREFIX = "error: "
"""The one prefix of an error line on standard error."""

EXIT_OK = 0
"""Done: every user synced (or verified equal), the record printed, the action taken."""
EXIT_FAILED = 1
"""The command ran and something failed: a user failed, is incomplete or differs, a
server could not be reached or refused, no such batch/endpoint/user (or one already
exists), the action is not allowed in the current status."""
EXIT_USAGE = 2
"""Nothing was done because of what was given (an ``InputError``): a bad option or
setting, a CSV that was refused, a content filter or target that can't be used (click's
usage errors exit 2 too)."""


def exit_code(error: MailferryError) -> int:
    """EXIT_USAGE for an error in what the caller gave, else EXIT_FAILED."""
    return EXIT_USAGE if isinstance(error, InputError) else EXIT_FAILED
