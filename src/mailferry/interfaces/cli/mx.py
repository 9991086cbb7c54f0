"""``mailferry mx check``: does a domain's MX point at the migration target yet?

Exit codes: 0 when it points at the target (or, with no target given, when the lookup
worked), 1 when it does not or the lookup failed (the reason on stderr), 2 for bad usage
(including an invalid domain, expected host or nameserver).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import sys
from collections.abc import Iterable

import click

from mailferry.interfaces.cli.service_context import build_context, cli_errors, mailferry_home
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK
from mailferry.service.mx.check import (
    MxCheckError,
    MxCheckResult,
    MxFailure,
    check_mx,
)
from mailferry.service.mx.switch import record_mx_result

TARGET_ENV = "MAILFERRY_MX_TARGET"


@click.group("mx", context_settings={"help_option_names": ["-h", "--help"]})
def mx() -> None:
    """DNS MX checks for the cut-over."""


@mx.command("check")
@click.argument("domain")
@click.option(
    "--expect",
    multiple=True,
    metavar="HOST",
    help=f"The target's MX host (repeat or comma-separate; '*.suffix' allowed). "
    f"Default: ${TARGET_ENV} (comma-separated).",
)
@click.option(
    "--nameserver",
    metavar="IP[:PORT]",
    help="Ask this nameserver. Default: the system's (/etc/resolv.conf).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=300),
    default=5.0,
    show_default=True,
    help="Give up after this many seconds.",
)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def check(
    domain: str, expect: tuple[str, ...], nameserver: str | None, timeout: float, output: str
) -> None:
    """Resolve DOMAIN's MX records and say whether they point at the target."""
    expected = _split(expect) if expect else _split([os.environ.get(TARGET_ENV, "")])
    servers, port = (None, 53) if nameserver is None else parse_nameserver(nameserver)
    try:
        result = asyncio.run(
            check_mx(domain, expected, nameservers=servers, port=port, timeout=timeout)
        )
    except MxCheckError as error:
        if error.failure is MxFailure.INVALID_INPUT:
            raise click.UsageError(str(error)) from None
        _report_error(domain, expected, error, output)
        sys.exit(EXIT_FAILED)
    if output == "json":
        click.echo(json.dumps(result_as_dict(result), indent=2))
    else:
        _print_text(result)
    _record(result)
    if result.expected and not result.points_to_target:
        click.echo(f"{result.domain} does not point at the target: {result.detail}", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_OK)


def _record(result: MxCheckResult) -> None:
    """Record the switch on the batches of that domain, when there is a database."""
    if not result.points_to_target or not _has_database():
        return
    with cli_errors():
        service = build_context(None, os.environ)
        try:
            for name in record_mx_result(service, result):
                click.echo(f"Recorded the MX switch on batch {name}", err=True)
        finally:
            service.store.close()


def _has_database() -> bool:
    env = os.environ
    if env.get("MAILFERRY_DB"):
        return True
    return (mailferry_home(env) / "mailferry.db").exists()


def parse_nameserver(text: str) -> tuple[list[str], int]:
    """``IP``, ``IP:PORT``, ``IPv6`` or ``[IPv6]:PORT`` -> ([address], port)."""
    text = text.strip()
    port_text = ""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise click.BadParameter(f"{text!r} is not IP[:PORT]", param_hint="--nameserver")
        port_text = rest[1:]
    elif text.count(":") == 1:
        address, port_text = text.split(":")
    else:
        address = text
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise click.BadParameter(
            f"{address!r} is not an IP address", param_hint="--nameserver"
        ) from None
    if not port_text:
        return [address], 53
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.BadParameter(f"invalid port {port_text!r}", param_hint="--nameserver")
    return [address], int(port_text)


def result_as_dict(result: MxCheckResult) -> dict[str, object]:
    """The result as JSON-ready data (PascalCase, like the other cmdlet-style outputs)."""
    if not result.expected:
        verdict = "NoTargetGiven"
    else:
        verdict = "PointsToTarget" if result.points_to_target else "PointsElsewhere"
    return {
        "Domain": result.domain,
        "Result": verdict,
        "PointsToTarget": result.points_to_target,
        "Expected": list(result.expected),
        "Records": [
            {"Preference": r.preference, "Exchange": r.exchange, "IsTarget": result.is_target(r)}
            for r in result.records
        ],
        "ImplicitMx": result.implicit_mx,
        "CheckedAt": result.checked_at.isoformat(),
        "Detail": result.detail,
        "Error": None,
    }


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _report_error(domain: str, expected: list[str], error: MxCheckError, output: str) -> None:
    if output == "json":
        document = {
            "Domain": domain,
            "Result": "Failed",
            "PointsToTarget": False,
            "Expected": expected,
            "Reason": error.failure.value,
            "Nameservers": list(error.nameservers),
            "Error": str(error),
        }
        click.echo(json.dumps(document, indent=2))
    click.echo(f"MX check of {domain} failed: {error}", err=True)


def _print_text(result: MxCheckResult) -> None:
    stamp = result.checked_at.strftime("%Y-%m-%d %H:%M:%S %Z")
    implicit = " (implicit: the domain has no MX records)" if result.implicit_mx else ""
    click.echo(f"MX of {result.domain}{implicit}, checked {stamp}")
    width = max(len(r.exchange) for r in result.records)
    for record in result.records:
        mark = "  <- target" if result.is_target(record) else ""
        click.echo(f"  {record.preference:>5}  {record.exchange:<{width}}{mark}".rstrip())
    if result.expected:
        click.echo(f"Target: {', '.join(result.expected)}")
    verdict = "points at the target" if result.points_to_target else "does NOT point at the target"
    if not result.expected:
        verdict = "resolved (no target given)"
    click.echo(f"Result: {verdict}")
    click.echo(result.detail)


if __name__ == "__main__":
    mx(prog_name="mailferry mx")
