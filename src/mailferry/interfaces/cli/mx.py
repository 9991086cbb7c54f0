"""``mailferry mx check``: does a domain's MX point at the migration target yet?

Exit codes: 0 when it points at the target (or, with no target given, when the lookup
worked), 1 when it does not or the lookup failed (the reason on stderr), 2 for bad usage
(including an invalid domain, expected host or nameserver).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

import click

from mailferry.app.mx import lookup_mx
from mailferry.app.mx import parse_nameserver as parse_nameserver_text
from mailferry.app.settings import has_database
from mailferry.errors import InvalidSetting
from mailferry.interfaces.cli.failures import cli_errors, error_line
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK

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
    callback=lambda _ctx, _param, value: _checked_nameserver(value),
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
    with cli_errors():
        view = asyncio.run(lookup_mx(domain, expected, nameserver=nameserver, timeout=timeout))
    if view["Result"] == "Failed":
        if output == "json":
            click.echo(json.dumps(view, indent=2))
        error_line(f"MX check of {domain} failed: {view['Error']}")
        sys.exit(EXIT_FAILED)
    if output == "json":
        click.echo(json.dumps(view, indent=2))
    else:
        _print_text(view)
    _record(view)
    if view["Expected"] and not view["PointsToTarget"]:
        click.echo(f"{view['Domain']} does not point at the target: {view['Detail']}", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_OK)


def _record(view: dict[str, Any]) -> None:
    """Record the switch on the batches of that domain, when there is a database."""
    if not view["PointsToTarget"] or not has_database(os.environ):
        return
    from mailferry.interfaces.cli.app_context import open_app

    with cli_errors(), open_app() as app:
        for name in app.record_mx(view):
            click.echo(f"Recorded the MX switch on batch {name}", err=True)


def parse_nameserver(text: str) -> tuple[list[str], int]:
    """``IP``, ``IP:PORT``, ``IPv6`` or ``[IPv6]:PORT`` -> ([address], port); a usage
    error (exit 2) naming the option otherwise."""
    try:
        return parse_nameserver_text(text)
    except InvalidSetting as error:
        raise click.BadParameter(str(error), param_hint="--nameserver") from None


def _checked_nameserver(value: str | None) -> str | None:
    if value is not None:
        parse_nameserver(value)
    return value


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _print_text(view: dict[str, Any]) -> None:
    import datetime as dt

    checked = dt.datetime.fromisoformat(view["CheckedAt"])
    stamp = checked.strftime("%Y-%m-%d %H:%M:%S %Z")
    implicit = " (implicit: the domain has no MX records)" if view["ImplicitMx"] else ""
    click.echo(f"MX of {view['Domain']}{implicit}, checked {stamp}")
    records = view["Records"]
    width = max(len(r["Exchange"]) for r in records)
    for record in records:
        mark = "  <- target" if record["IsTarget"] else ""
        click.echo(f"  {record['Preference']:>5}  {record['Exchange']:<{width}}{mark}".rstrip())
    if view["Expected"]:
        click.echo(f"Target: {', '.join(view['Expected'])}")
    verdict = "points at the target" if view["PointsToTarget"] else "does NOT point at the target"
    if not view["Expected"]:
        verdict = "resolved (no target given)"
    click.echo(f"Result: {verdict}")
    click.echo(view["Detail"])


if __name__ == "__main__":
    mx(prog_name="mailferry mx")
