"""``mailferry test-server``: check a source server step by step."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from mailferry.app import ServerTestRequest
from mailferry.interfaces.cli.app_context import db_option, open_app
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.cli.safe_text import rich_text
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK, describe
from mailferry.values.connection import AuthMethod, Security


@click.command("test-server")
@db_option
@click.option("--remote-server", help="Host name or address of the IMAP server.")
@click.option("--endpoint", "endpoint_name", help="Test a migration endpoint's stored settings.")
@click.option("--port", type=click.IntRange(1, 65535), help="Default: 993 for Ssl, else 143.")
@click.option(
    "--security",
    type=click.Choice([s.value for s in Security], case_sensitive=False),
    default="Ssl",
    show_default=True,
    help="Ssl (implicit TLS), Tls (STARTTLS) or None.",
)
@click.option("--user", help="Log in as this user (sent verbatim, e.g. 'terry*admin').")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--authzid", default="", help="Authorization identity (admin acts as this user).")
@click.option(
    "--authentication",
    type=click.Choice([m.value for m in AuthMethod], case_sensitive=False),
    default="Basic",
    show_default=True,
    help="The login mechanism to test (Basic: LOGIN/PLAIN).",
)
@click.option(
    "--accept-untrusted-certificates", is_flag=True, help="Do not verify the certificate."
)
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--timeout", type=float, default=15.0, show_default=True, help="Connect timeout (s).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def test_server(
    remote_server: str | None,
    endpoint_name: str | None,
    port: int | None,
    security: str,
    user: str | None,
    password_stdin: bool,
    authzid: str,
    authentication: str,
    accept_untrusted_certificates: bool,
    ca_file: Path | None,
    timeout: float,
    output: str,
) -> None:
    """Check DNS, TCP, TLS, greeting, capabilities, STARTTLS and login, with timings."""
    if (remote_server is None) == (endpoint_name is None):
        raise click.UsageError("give either --remote-server or --endpoint")
    if endpoint_name is not None:
        report = _test_endpoint(endpoint_name, timeout)
    else:
        assert remote_server is not None
        user_name, password = _credentials(user, password_stdin)
        request = ServerTestRequest(
            remote_server=remote_server,
            port=port,
            security=security,
            authentication=authentication,
            accept_untrusted_certificates=accept_untrusted_certificates,
            ca_file=None if ca_file is None else str(ca_file),
            user=user_name,
            password=password,
            authzid=authzid,
            timeout=timeout,
        )
        from mailferry.app.endpoints import test_server as run_test

        with cli_errors():
            report = asyncio.run(run_test(request, describe=describe))
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        _print_text(report)
    sys.exit(EXIT_OK if report["Result"] == "Success" else EXIT_FAILED)


def _test_endpoint(name: str, timeout: float) -> dict[str, Any]:
    """Test-MigrationServerAvailability -Endpoint NAME: the stored settings."""
    with cli_errors(), open_app() as app:
        return asyncio.run(app.test_endpoint(name, timeout=timeout))


def _credentials(user: str | None, password_stdin: bool) -> tuple[str | None, str | None]:
    if user is None:
        if password_stdin:
            raise click.UsageError("--password-stdin needs --user")
        return None, None
    if not password_stdin:
        raise click.UsageError("--user needs --password-stdin (passwords are never arguments)")
    return user, sys.stdin.readline().rstrip("\r\n")


def _print_text(report: dict[str, Any]) -> None:
    console = Console(highlight=False, soft_wrap=True)
    where = f"{report['RemoteServer']}:{report['Port']} ({report['Security']})"
    table = Table(title=where, title_justify="left")
    table.add_column("step")
    table.add_column("time", justify="right")
    table.add_column("result")
    for step in report["Steps"]:
        mark = "[green]ok[/]" if step["Ok"] else "[red]FAILED[/]"
        table.add_row(
            step["Step"], f"{step['Seconds'] * 1000:.1f} ms", f"{mark} {rich_text(step['Detail'])}"
        )
    console.print(table)
    if report["Error"] is not None:
        console.print(f"[red]Failed at {report['FailedStep']}:[/] {rich_text(report['Error'])}")
    else:
        console.print("[green]Server is reachable.[/]")
