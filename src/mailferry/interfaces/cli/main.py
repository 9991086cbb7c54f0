"""The ``mailferry`` command: one click group; each subcommand in its own module."""

from __future__ import annotations

import click

from mailferry import __version__
from mailferry.interfaces.cli.migrate import migrate
from mailferry.interfaces.cli.test_server import test_server
from mailferry.interfaces.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailferry")
def cli() -> None:
    """mailferry: migrate mailboxes from any IMAP server to a new home."""


cli.add_command(test_server)
cli.add_command(verify)
cli.add_command(migrate)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mailferry")
