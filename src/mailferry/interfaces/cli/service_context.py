"""How every service command gets its ServiceContext, and how its errors become words.

The context is built once per command from ``--db`` (on the group or the command) and
the environment:

- ``MAILFERRY_DB``: database URL; default ``sqlite:///<home>/mailferry.db``
- ``MAILFERRY_HOME``: default ``~/.local/share/mailferry``
- ``MAILFERRY_KEY``: the vault key as text; else the key file ``<home>/secret.key``
  (created on first use)
- ``MAILFERRY_TARGET`` (``maildir:PATH`` | ``imap://HOST:PORT``) with
  ``MAILFERRY_TARGET_LOGIN``, ``MAILFERRY_TARGET_USER``, ``MAILFERRY_TARGET_SECURITY``:
  the default target; else ``maildir:<home>/mail``
- ``MAILFERRY_CA_FILE``: an extra CA the target's certificate may chain to
- ``MAILFERRY_SMTP_SERVER`` (``HOST[:PORT]``), ``MAILFERRY_SMTP_SECURITY``,
  ``MAILFERRY_SMTP_USER``, ``MAILFERRY_SMTP_PASSWORD``, ``MAILFERRY_SMTP_FROM``: where
  batch reports are e-mailed

The CLI and the REST API call the same service functions with such a context; whether a
``mailferry serve`` is running only decides who does the copying (see ``batch_watch``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from mailferry.errors import MailferryError
from mailferry.interfaces.cli.home import DEFAULT_HOME as DEFAULT_HOME  # re-exported
from mailferry.interfaces.cli.home import mailferry_home as mailferry_home
from mailferry.interfaces.cli.safe_text import printable_lines
from mailferry.interfaces.cli.target_options import target_from_env
from mailferry.interfaces.cli.words import describe, exit_code
from mailferry.service.context import ServiceContext, ServiceSettings
from mailferry.service.reports.notifications import SmtpSettings
from mailferry.service.service_errors import InvalidSetting
from mailferry.service.vault import Vault, key_from_text, load_or_create_key
from mailferry.state.service_store import ServiceStore

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])

_DB_KEY = "mailferry.db_url"
_SERVICE_KEY = "mailferry.service"


def database_url(db_option: str | None, env: Mapping[str, str]) -> str:
    """``--db``, else ``MAILFERRY_DB``, else the SQLite file in the home directory."""
    if db_option:
        return db_option
    if env.get("MAILFERRY_DB"):
        return env["MAILFERRY_DB"]
    home = mailferry_home(env)
    _private_dir(home)
    return f"sqlite:///{home.resolve() / 'mailferry.db'}"


def vault_key(env: Mapping[str, str]) -> bytes:
    text = env.get("MAILFERRY_KEY")
    if text:
        return key_from_text(text)
    return load_or_create_key(mailferry_home(env) / "secret.key")


def service_settings(env: Mapping[str, str]) -> ServiceSettings:
    ca_text = env.get("MAILFERRY_CA_FILE")
    ca_file = Path(ca_text).expanduser() if ca_text else None
    if ca_file is not None and not ca_file.is_file():
        raise InvalidSetting([f"MAILFERRY_CA_FILE {ca_text!r} is not a file"])
    smtp = smtp_settings(
        env.get("MAILFERRY_SMTP_SERVER"),
        env.get("MAILFERRY_SMTP_SECURITY", "None"),
        env.get("MAILFERRY_SMTP_USER"),
        env.get("MAILFERRY_SMTP_FROM", "mailferry@localhost"),
        env,
    )
    return ServiceSettings(
        default_target=target_from_env(env, mailferry_home(env)), ca_file=ca_file, smtp=smtp
    )


def smtp_settings(
    server: str | None, security: str, user: str | None, sender: str, env: Mapping[str, str]
) -> SmtpSettings | None:
    """``HOST[:PORT]`` (default port by security: 25, 465 Ssl, 587 Tls); the password
    only ever from ``MAILFERRY_SMTP_PASSWORD``."""
    if not server:
        return None
    host, _, port = server.rpartition(":") if ":" in server else (server, "", "")
    if port and not port.isdigit():
        raise InvalidSetting([f"SMTP server {server!r}: the port must be a number"])
    default_port = {"Ssl": 465, "Tls": 587}.get(security, 25)
    return SmtpSettings(
        host=host or server,
        port=int(port) if port else default_port,
        security=security,
        username=user,
        password=env.get("MAILFERRY_SMTP_PASSWORD"),
        sender=sender,
    )


def build_context(db_option: str | None, env: Mapping[str, str]) -> ServiceContext:
    """Settings and key first (cheap checks), then the database (migrated to head)."""
    settings = service_settings(env)
    vault = Vault(vault_key(env))
    store = ServiceStore.open(database_url(db_option, env))
    assert isinstance(store, ServiceStore)
    return ServiceContext(store=store, vault=vault, settings=settings)


def chosen_db_url() -> str | None:
    """The ``--db`` given to the running command or its group (None: not given)."""
    value = click.get_current_context().meta.get(_DB_KEY)
    return value if isinstance(value, str) else None


def current_service() -> ServiceContext:
    """The running command's context, built on first use and closed with the command."""
    click_ctx = click.get_current_context()
    found = click_ctx.meta.get(_SERVICE_KEY)
    if isinstance(found, ServiceContext):
        return found
    service = build_context(chosen_db_url(), os.environ)
    click_ctx.meta[_SERVICE_KEY] = service
    click_ctx.call_on_close(functools.partial(_close, click_ctx, service))
    return service


def _close(click_ctx: click.Context, service: ServiceContext) -> None:
    click_ctx.meta.pop(_SERVICE_KEY, None)
    service.store.close()


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


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """A MailferryError becomes ``error: ...`` on stderr and exit code 2 for bad input
    (a refused CSV, a bad setting), else 1 (see ``words.exit_code``)."""
    try:
        yield
    except MailferryError as error:
        click.echo(f"error: {printable_lines(describe(error))}", err=True)
        raise click.exceptions.Exit(exit_code(error)) from None


def service_command(fn: Callable[Concatenate[ServiceContext, P], None]) -> Callable[P, None]:
    """Give the command its ServiceContext as first argument, with ``--db`` and error words.

    Use it under the ``@click.option`` lines (closest to the function).
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        with cli_errors():
            fn(current_service(), *args, **kwargs)

    return db_option(run)


def _private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
