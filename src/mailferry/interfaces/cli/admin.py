"""``mailferry admin new|list|remove``: who may sign in to the web console with a
name and a password (an API token signs in too).

``admin new`` asks for the password twice on the terminal (hidden), or reads it from
the first line of stdin with ``--password-stdin`` (for scripts); it is never an option
(options end up in shell history and process lists). Only its scrypt hash is kept.
"""

from __future__ import annotations

import sys

import click

from mailferry.app import Mailferry
from mailferry.interfaces.cli.app_context import app_command, db_option
from mailferry.interfaces.cli.record_options import RecordFormat, record_options

ADMIN_COLUMNS = ("Name", "WhenCreated", "LastSignInTime")


@click.group("admin")
@db_option
def admin() -> None:
    """Web console administrators (sign in at / of serve --http, api)."""


@admin.command("new")
@click.option("--name", required=True, help="The name to sign in with (unique, no spaces).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin's first line.")
@app_command
def new(app: Mailferry, /, name: str, password_stdin: bool) -> None:
    """Create an administrator (password at least 12 characters)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    view = app.admins.new(name, password)
    click.echo(f"administrator {view['Name']!r} created", err=True)


@admin.command("list")
@record_options
@app_command
def list_(app: Mailferry, /, output: RecordFormat) -> None:
    """Show every administrator (names and dates, never a password)."""
    output.emit(app.admins.list(), table_columns=ADMIN_COLUMNS)


@admin.command("remove")
@click.option("--name", required=True, help="The administrator to remove.")
@app_command
def remove(app: Mailferry, /, name: str) -> None:
    """Remove an administrator (their open console sessions end at their next request)."""
    app.admins.remove(name)
    click.echo(f"administrator {name!r} removed", err=True)
