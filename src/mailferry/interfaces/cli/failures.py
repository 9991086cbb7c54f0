"""The one place a CLI command prints an error: ``error: <words>`` on stderr, then the
exit code that goes with it (``words.exit_code``: 2 for bad input, else 1).

Every command reaches it through ``cli_errors`` (``app_command`` wraps each service
command in it); commands that report a failed *result* (a user that failed, a server
that can't be reached) print their result and exit 1 themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import click

from mailferry.errors import MailferryError
from mailferry.interfaces.cli.cmdlet_words import spoken
from mailferry.interfaces.cli.safe_text import printable_lines
from mailferry.interfaces.cli.words import ERROR_PREFIX, describe, exit_code


def error_line(text: str) -> None:
    """``error: text`` on stderr (control characters shown escaped)."""
    click.echo(f"{ERROR_PREFIX}{printable_lines(spoken(text))}", err=True)


def fail(error: MailferryError) -> NoReturn:
    """Print the error's words and end the command with its exit code."""
    error_line(describe(error))
    raise click.exceptions.Exit(exit_code(error))


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Any ``MailferryError`` inside becomes ``fail(error)``."""
    try:
        yield
    except MailferryError as error:
        fail(error)
