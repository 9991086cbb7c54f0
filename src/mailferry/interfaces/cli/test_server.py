"""``mailferry test-server``: check a source server step by step."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from mailferry.connection.auth import AuthMethod, Credentials
from mailferry.connection.options import ConnectOptions, Security, default_port
from mailferry.interfaces.cli.safe_text import rich_text
from mailferry.interfaces.cli.service_context import (
    build_context,
    chosen_db_url,
    cli_errors,
    db_option,
)
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK, describe
from mailferry.service.endpoints.manage import connect_options, get_endpoint
from mailferry.service.endpoints.server_check import ServerCheckReport, check_server


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
)
@click.option("--user", help="Log in as this user (sent verbatim, e.g. 'terry*admin').")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--authzid", default="", help="Authorization identity (admin acts as this user).")
@click.option(
    "--authentication",
    type=click.Choice([m.value for m in AuthMethod], case_sensitive=False),
    default="Basic",
    show_default=True,
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
        options = dataclasses.replace(
            _endpoint_options(endpoint_name), connect_timeout=timeout, command_timeout=timeout
        )
    else:
        assert remote_server is not None
        mode = Security.parse(security)
        options = ConnectOptions(
            host=remote_server,
            port=port or default_port(mode),
            security=mode,
            accept_untrusted_certificates=accept_untrusted_certificates,
            ca_file=ca_file,
            connect_timeout=timeout,
            command_timeout=timeout,
        )
    credentials = _credentials(user, password_stdin, authzid, authentication)
    report = asyncio.run(check_server(options, credentials))
    if output == "json":
        click.echo(json.dumps(report_as_dict(report), indent=2))
    else:
        _print_text(report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def _endpoint_options(name: str) -> ConnectOptions:
    """Test-MigrationServerAvailability -Endpoint NAME: the stored settings."""
    with cli_errors():
        service = build_context(chosen_db_url(), os.environ)
        try:
            return connect_options(get_endpoint(service, name))
        finally:
            service.store.close()


def _credentials(
    user: str | None, password_stdin: bool, authzid: str, authentication: str
) -> Credentials | None:
    if user is None:
        if password_stdin:
            raise click.UsageError("--password-stdin needs --user")
        return None
    if not password_stdin:
        raise click.UsageError("--user needs --password-stdin (passwords are never arguments)")
    password = sys.stdin.readline().rstrip("\r\n")
    return Credentials(user, password, authzid, AuthMethod.parse(authentication))


def report_as_dict(report: ServerCheckReport) -> dict[str, object]:
    """The report as JSON-ready data (no secrets: none are in it)."""
    return {
        "RemoteServer": report.host,
        "Port": report.port,
        "Security": report.security,
        "Result": "Success" if report.ok else "Failed",
        "FailedStep": report.failed_step,
        "Error": describe(report.error) if report.error else None,
        "Steps": [
            {"Step": s.name, "Seconds": round(s.seconds, 4), "Ok": s.ok, "Detail": s.detail}
            for s in report.steps
        ],
        "Capabilities": list(report.capabilities),
    }


def _print_text(report: ServerCheckReport) -> None:
    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"{report.host}:{report.port} ({report.security})", title_justify="left")
    table.add_column("step")
    table.add_column("time", justify="right")
    table.add_column("result")
    for step in report.steps:
        mark = "[green]ok[/]" if step.ok else "[red]FAILED[/]"
        table.add_row(
            step.name, f"{step.seconds * 1000:.1f} ms", f"{mark} {rich_text(step.detail)}"
        )
    console.print(table)
    if report.error is not None:
        console.print(
            f"[red]Failed at {report.failed_step}:[/] {rich_text(describe(report.error))}"
        )
    else:
        console.print("[green]Server is reachable.[/]")
