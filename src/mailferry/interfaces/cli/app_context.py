"""How every command gets its ``Mailferry`` (the façade), and ``--db``.

The façade is opened once per command from ``--db`` (on the group or the command) and
the environment (``mailferry.app.settings`` lists the variables), on first use, and
closed with the command. Whether a ``mailferry serve`` is running only decides who
does the copying (see ``batch_watch``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from mailferry.app import Mailferry, ServiceChanges
from mailferry.app.core import Clock
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.cli.words import describe

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])

_DB_KEY = "mailferry.db_url"
_APP_KEY = "mailferry.app"


def chosen_db_url() -> str | None:
    """The ``--db`` given to the running command or its group (None: not given)."""
    value = click.get_current_context().meta.get(_DB_KEY)
    return value if isinstance(value, str) else None


def open_app(*, changes: ServiceChanges | None = None, clock: Clock | None = None) -> Mailferry:
    """A façade of its own (the caller closes it), with the CLI's words."""
    return Mailferry.open(
        chosen_db_url(), os.environ, describe=describe, changes=changes, clock=clock
    )


def current_app() -> Mailferry:
    """The running command's façade, opened on first use and closed with the command."""
    click_ctx = click.get_current_context()
    found = click_ctx.meta.get(_APP_KEY)
    if isinstance(found, Mailferry):
        return found
    app = open_app()
    click_ctx.meta[_APP_KEY] = app
    click_ctx.call_on_close(functools.partial(_close, click_ctx, app))
    return app


def _close(click_ctx: click.Context, app: Mailferry) -> None:
    click_ctx.meta.pop(_APP_KEY, None)
    app.close()


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[_DB_KEY] = value  # meta is shared by the group's and the command's contexts


def db_option(command: F) -> F:
    """``--db URL`` for a group or a command (the command's wins)."""
    option = click.option(
        "--db",
        metavar="URL",
        expose_value=False,
        callback=_remember_db,
        help="State database URL (default: MAILFERRY_DB, else <MAILFERRY_HOME>/mailferry.db).",
    )
    return option(command)


def app_command(fn: Callable[Concatenate[Mailferry, P], None]) -> Callable[P, None]:
    """Give the command the façade as first argument, with ``--db`` and error words.

    Use it under the ``@click.option`` lines (closest to the function).
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with cli_errors():
            fn(current_app(), *args, **kwargs)

    return db_option(run)
