"""``mailferry api --http ADDR``: the REST API alone, with no scheduler in this process
(for a deployment where ``mailferry serve`` runs elsewhere on the same database).

The listening options are shared with ``serve --http`` (``http_options``): loopback by
default; another address needs ``--allow-remote``, and then TLS (``--tls-cert``,
``--tls-key``) or ``--allow-plain-http`` (see ``interfaces.http.server``). Every request
needs a bearer token from ``mailferry token new``. It runs until SIGINT/SIGTERM; a
status line goes to stderr when it listens and when it stops (never a token).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mailferry.app import Mailferry
from mailferry.interfaces.cli.app_context import db_option, open_app
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.http.server import HttpServer, Listen, listen_address, run_together

F = TypeVar("F", bound=Callable[..., Any])
FILE = click.Path(dir_okay=False, path_type=Path)


def http_options(*, default: str | None) -> Callable[[F], F]:
    """``--http`` and its TLS / exposure options; the command gets ``listen: Listen |
    None`` (None: ``--http`` not given and no default)."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(
            *args: Any,
            http: str | None,
            tls_cert: Path | None,
            tls_key: Path | None,
            allow_remote: bool,
            allow_plain_http: bool,
            **kwargs: Any,
        ) -> Any:
            listen = None
            if http is not None:
                with cli_errors():
                    listen = listen_address(
                        http,
                        tls_cert=tls_cert,
                        tls_key=tls_key,
                        allow_remote=allow_remote,
                        allow_plain_http=allow_plain_http,
                    )
            elif tls_cert or tls_key or allow_remote or allow_plain_http:
                raise click.UsageError("--tls-cert, --tls-key and --allow-* go with --http")
            return command(*args, listen=listen, **kwargs)

        options = (
            click.option(
                "--http",
                metavar="HOST:PORT",
                default=default,
                show_default=default is not None,
                help="Serve the REST API there (an IP address or localhost; port 0: any).",
            ),
            click.option("--tls-cert", type=FILE, help="HTTPS: certificate chain (PEM)."),
            click.option("--tls-key", type=FILE, help="HTTPS: the certificate's key (PEM)."),
            click.option(
                "--allow-remote",
                is_flag=True,
                help="Allow a non-loopback --http address (0.0.0.0, a LAN or public one).",
            ),
            click.option(
                "--allow-plain-http",
                is_flag=True,
                help="With --allow-remote: allow no TLS (a TLS proxy in front).",
            ),
        )
        wrapped: Any = run
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate


def api_server(app: Mailferry, listen: Listen) -> HttpServer:
    """The API over ``app``, guarded by bearer tokens, bound to ``listen``."""
    from mailferry.interfaces.http.app import create_app
    from mailferry.interfaces.http.auth import read_access, write_access

    return HttpServer(create_app(app, read_access=read_access, write_access=write_access), listen)


@click.command()
@http_options(default="127.0.0.1:8080")
@db_option
def api(listen: Listen) -> None:
    """Serve the REST API only (batches are copied by a `mailferry serve` elsewhere)."""
    with cli_errors(), open_app() as app:
        server = api_server(app, listen)
        say(f"mailferry api: listening on {server.url} (pid {os.getpid()})")
        asyncio.run(run_together(server, None))
        say("mailferry api: stopped")


def say(text: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {text}", file=sys.stderr, flush=True)
