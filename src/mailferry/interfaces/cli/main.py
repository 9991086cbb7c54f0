"""The ``mailferry`` command: one click group; each subcommand in its own module."""

from __future__ import annotations

import sys

import click

from mailferry import __version__
from mailferry.interfaces.cli.batch import batch
from mailferry.interfaces.cli.cmdlets import translate_cmdlet
from mailferry.interfaces.cli.endpoint import endpoint
from mailferry.interfaces.cli.migrate import migrate
from mailferry.interfaces.cli.mx import mx
from mailferry.interfaces.cli.serve import serve
from mailferry.interfaces.cli.test_server import test_server
from mailferry.interfaces.cli.user import user
from mailferry.interfaces.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailferry")
def cli() -> None:
    """mailferry: migrate mailboxes from any IMAP server to a new home."""


cli.add_command(test_server)
cli.add_command(verify)
cli.add_command(migrate)
cli.add_command(endpoint)
cli.add_command(batch)
cli.add_command(user)
cli.add_command(mx)
cli.add_command(serve)


def main() -> None:
    """Console-script entry point (Exchange cmdlet names are translated first)."""
    try:
        translated = translate_cmdlet(sys.argv[1:], piped=not sys.stdout.isatty())
    except click.UsageError as error:
        error.show()
        sys.exit(error.exit_code)
    if translated is None:
        cli(prog_name="mailferry")
    else:
        cli(args=translated, prog_name="mailferry")
