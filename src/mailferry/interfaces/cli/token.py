"""``mailferry token new|list|revoke``: the REST API's bearer tokens.

``token new`` prints the token on stdout, alone on its line, so a script can capture it
(``TOKEN=$(mailferry token new --name ci)``); that is the only time it is shown: the
database keeps its hash only. Everything else (the reminder, confirmations) goes to
stderr. A read-only token (``--read-only``) may call every GET of the API; any other
request with it gets 403.
"""

from __future__ import annotations

import click

from mailferry.app import Mailferry
from mailferry.interfaces.cli.app_context import app_command, db_option
from mailferry.interfaces.cli.record_options import RecordFormat, record_options

TOKEN_COLUMNS = ("Identity", "ReadOnly", "Status", "CreationDateTime", "LastUsedDateTime")


@click.group("token")
@db_option
def token() -> None:
    """Bearer tokens for the REST API (mailferry serve --http, mailferry api)."""


@token.command("new")
@click.option("--name", required=True, help="Unique name (who or what uses the token).")
@click.option("--read-only", is_flag=True, help="Reads only: actions and changes get 403.")
@app_command
def new(app: Mailferry, /, name: str, read_only: bool) -> None:
    """Create a token and print it (once: only its hash is kept)."""
    secret, view = app.tokens.new(name, read_only=read_only)
    kind = "read-only" if read_only else "read-write"
    click.echo(secret)
    click.echo(
        f"token {view['Name']!r} ({kind}) created: it is shown only this once, store it now",
        err=True,
    )


@token.command("list")
@record_options
@app_command
def list_(app: Mailferry, /, output: RecordFormat) -> None:
    """Show every token (names and dates, never the tokens themselves)."""
    output.emit(app.tokens.list(), table_columns=TOKEN_COLUMNS)


@token.command("revoke")
@click.option("--name", required=True, help="The token to revoke.")
@app_command
def revoke(app: Mailferry, /, name: str) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    app.tokens.revoke(name)
    click.echo(f"token {name!r} revoked", err=True)
