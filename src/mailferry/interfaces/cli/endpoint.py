"""``mailferry endpoint new|get|set|remove`` (Exchange's *-MigrationEndpoint)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from mailferry.app import EndpointChanges, EndpointRequest, Mailferry
from mailferry.interfaces.cli.app_context import app_command, db_option
from mailferry.interfaces.cli.record_options import ENDPOINT_COLUMNS, RecordFormat, record_options
from mailferry.values.connection import AuthMethod, Security

SECURITY = click.Choice([s.value for s in Security], case_sensitive=False)
AUTHENTICATION = click.Choice([m.value for m in AuthMethod], case_sensitive=False)
CA_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("endpoint")
@db_option
def endpoint() -> None:
    """Migration endpoints: the source IMAP servers batches copy from."""


@endpoint.command("new")
@click.option("--name", required=True, help="Unique name of the endpoint.")
@click.option("--remote-server", required=True, help="Host name or address of the source.")
@click.option("--port", type=int, help="Default: 993 for Ssl, else 143.")
@click.option(
    "--security",
    type=SECURITY,
    default="Ssl",
    show_default=True,
    help="Ssl (implicit TLS), Tls (STARTTLS) or None.",
)
@click.option(
    "--authentication",
    type=AUTHENTICATION,
    default="Basic",
    show_default=True,
    help="How the users log in on the source (Basic: LOGIN/PLAIN).",
)
@click.option("--max-concurrent-migrations", type=int, help="1-100, default 20.")
@click.option(
    "--max-concurrent-incremental-syncs", type=int, help="Default 10; not above the above."
)
@click.option(
    "--accept-untrusted-certificates",
    is_flag=True,
    help="Accept a certificate no trusted CA signed (a self-signed server).",
)
@click.option("--skip-verification", is_flag=True, help="Don't check that the server answers.")
@click.option("--ca-file", type=CA_FILE, help="An extra CA the server's certificate chains to.")
@record_options
@app_command
def new(
    app: Mailferry,
    /,
    name: str,
    skip_verification: bool,
    ca_file: Path | None,
    output: RecordFormat,
    accept_untrusted_certificates: bool,
    **fields: Any,
) -> None:
    """Create an endpoint; unless --skip-verification, check the server answers first."""
    request = EndpointRequest(
        name=name,
        ca_file=_absolute(ca_file),
        accept_untrusted_certificates=accept_untrusted_certificates,
        **fields,
    )
    created = asyncio.run(app.new_endpoint(request, skip_verification=skip_verification))
    _print(output, [created], single=True)


@endpoint.command("get")
@click.argument("name", required=False)
@record_options
@app_command
def get(app: Mailferry, name: str | None, output: RecordFormat) -> None:
    """Show one endpoint, or all of them."""
    found = app.get_endpoints() if name is None else [app.get_endpoint(name)]
    _print(output, found, single=name is not None)


@endpoint.command("set")
@click.argument("name")
@click.option("--remote-server", help="Host name or address of the source.")
@click.option("--port", type=int, help="The source's IMAP port.")
@click.option("--security", type=SECURITY, help="Ssl, Tls (STARTTLS) or None.")
@click.option("--authentication", type=AUTHENTICATION, help="How the users log in.")
@click.option("--max-concurrent-migrations", type=int, help="Initial syncs at once (1-100).")
@click.option(
    "--max-concurrent-incremental-syncs",
    type=int,
    help="Incremental syncs at once (not above --max-concurrent-migrations).",
)
@click.option(
    "--accept-untrusted-certificates/--no-accept-untrusted-certificates",
    default=None,
    help="Accept a certificate no trusted CA signed, or stop accepting it.",
)
@click.option("--skip-verification", is_flag=True, help="Don't check a changed server.")
@click.option("--ca-file", type=CA_FILE)
@record_options
@app_command
def set_(
    app: Mailferry,
    /,
    name: str,
    skip_verification: bool,
    ca_file: Path | None,
    output: RecordFormat,
    **fields: Any,
) -> None:
    """Change an endpoint (refused while a batch using it is running)."""
    changes = EndpointChanges(ca_file=_absolute(ca_file), **fields)
    updated = asyncio.run(app.set_endpoint(name, changes, skip_verification=skip_verification))
    _print(output, [updated], single=True)


@endpoint.command("remove")
@click.argument("name")
@app_command
def remove(app: Mailferry, name: str) -> None:
    """Remove an endpoint no batch uses."""
    app.remove_endpoint(name)
    click.echo(f"Removed migration endpoint {name}")


def _print(output: RecordFormat, records: list[dict[str, Any]], *, single: bool) -> None:
    output.emit(records, single=single, table_columns=ENDPOINT_COLUMNS)


def _absolute(path: Path | None) -> str | None:
    """Stored for the service, which may run in another directory."""
    return None if path is None else str(path.resolve())
