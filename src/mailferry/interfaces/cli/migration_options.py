"""Command-line options shared by ``migrate`` and ``verify``: source, target, CSV, and
the content filter (Exchange's ``-ContentFilter`` on Received time).

Secrets are never arguments: the target admin password comes from
``--target-password-file`` or the ``MAILFERRY_TARGET_PASSWORD`` environment
variable; per-user target logins come from a CSV like the users' one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mailferry.connection.auth import AuthMethod
from mailferry.connection.options import ConnectOptions, Security, default_port
from mailferry.engine.content_filter import ReceivedWindow, parse_content_filter
from mailferry.errors import ContentFilterError
from mailferry.service.migration_spec import SourceSpec, TargetSpec, parse_target
from mailferry.service.users_csv.file import read_csv_file
from mailferry.service.users_csv.parse import MigrationUserRow, parse_users_csv
from mailferry.stores.logins import (
    AdminAuthzid,
    MasterUser,
    PerUser,
    StaticTokenProvider,
    TargetLogin,
    XOAuth2,
)

F = TypeVar("F", bound=Callable[..., Any])
_SECURITY = click.Choice([s.value for s in Security], case_sensitive=False)
TARGET_LOGINS = ("master-user", "admin-authzid", "per-user", "xoauth2")


def migration_options(command: F) -> F:
    """Decorate a command with every source, target and CSV option."""
    options = [
        click.option("--source-server", required=True, help="Source IMAP host."),
        click.option("--port", type=click.IntRange(1, 65535), help="Source port."),
        click.option("--security", type=_SECURITY, default="Ssl", show_default=True),
        click.option(
            "--authentication",
            type=click.Choice([m.value for m in AuthMethod], case_sensitive=False),
            default="Basic",
            show_default=True,
        ),
        click.option("--accept-untrusted-certificates", is_flag=True),
        click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option(
            "--csv",
            "csv_path",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="EmailAddress,UserName,Password[,UserRoot] (SPEC §1.4).",
        ),
        click.option(
            "--target", required=True, help="maildir:PATH or imap://HOST:PORT (imaps:// = Ssl)."
        ),
        click.option("--target-security", type=_SECURITY, default="None", show_default=True),
        click.option(
            "--target-ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
        ),
        click.option("--target-accept-untrusted-certificates", is_flag=True),
        click.option(
            "--target-login",
            type=click.Choice(TARGET_LOGINS),
            default="master-user",
            show_default=True,
            help="How each target mailbox is opened (IMAP targets).",
        ),
        click.option("--target-admin", default="admin", show_default=True),
        click.option("--master-separator", default="*", show_default=True),
        click.option(
            "--target-password-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="File holding the target admin password (or MAILFERRY_TARGET_PASSWORD), "
            "or the access token for xoauth2.",
        ),
        click.option(
            "--target-csv",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Per-user target logins: EmailAddress,UserName,Password.",
        ),
        click.option(
            "--exclude-folders", default="", help="Comma-separated, e.g. '#JunkEmail#,Archive'."
        ),
        click.option("--include-folders", default="", help="Comma-separated; default: all."),
        click.option(
            "--content-filter",
            callback=_content_filter,
            help="Only mail received in this window, as Exchange's -ContentFilter: "
            "\"Received -ge '2020-01-01' -and Received -lt '2021-01-01'\" "
            "(-gt -ge -lt -le, -and; dates yyyy-mm-dd or M/d/yyyy, UTC).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _content_filter(
    _context: click.Context, _param: click.Parameter, value: str | None
) -> ReceivedWindow | None:
    """The option's window; a filter that can't be used is a usage error naming why."""
    if value is None:
        return None
    try:
        return parse_content_filter(value)
    except ContentFilterError as error:
        raise click.BadParameter(error.reason) from None


def source_spec(params: dict[str, Any]) -> SourceSpec:
    security = Security.parse(params["security"])
    options = ConnectOptions(
        host=params["source_server"],
        port=params["port"] or default_port(security),
        security=security,
        accept_untrusted_certificates=params["accept_untrusted_certificates"],
        ca_file=params["ca_file"],
    )
    return SourceSpec(options, AuthMethod.parse(params["authentication"]))


def target_spec(params: dict[str, Any]) -> TargetSpec:
    target: str = params["target"]
    login = None if target.startswith("maildir:") else _target_login(params)
    return parse_target(
        target,
        security=Security.parse(params["target_security"]),
        ca_file=params["target_ca_file"],
        accept_untrusted_certificates=params["target_accept_untrusted_certificates"],
        login=login,
    )


def _target_login(params: dict[str, Any]) -> TargetLogin:
    mode = params["target_login"]
    if mode == "per-user":
        if params["target_csv"] is None:
            raise click.UsageError("--target-login per-user needs --target-csv")
        data = read_csv_file(params["target_csv"], source_name="--target-csv")
        rows = parse_users_csv(data, source_name="--target-csv")
        return PerUser({row.email_address: (row.user_name, row.password) for row in rows})
    secret = _target_secret(params["target_password_file"])
    if mode == "admin-authzid":
        return AdminAuthzid(params["target_admin"], secret)
    if mode == "xoauth2":
        return XOAuth2(StaticTokenProvider(secret))
    return MasterUser(params["target_admin"], secret, params["master_separator"])


def _target_secret(path: Path | None) -> str:
    if path is not None:
        return path.read_text(encoding="utf-8").strip("\r\n")
    secret = os.environ.get("MAILFERRY_TARGET_PASSWORD")
    if secret is None:
        raise click.UsageError(
            "an IMAP target needs its admin password: --target-password-file or "
            "MAILFERRY_TARGET_PASSWORD"
        )
    return secret


def users(params: dict[str, Any]) -> tuple[MigrationUserRow, ...]:
    path: Path = params["csv_path"]
    return parse_users_csv(read_csv_file(path), source_name=str(path))


def folder_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
