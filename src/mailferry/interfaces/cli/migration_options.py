"""Command-line options shared by ``migrate`` and ``verify``: source, target, CSV, and
the content filter (Exchange's ``-ContentFilter`` on Received time).

Secrets are never arguments: the target admin password comes from
``--target-password-file`` or the ``MAILFERRY_TARGET_PASSWORD`` environment
variable; per-user target logins come from a CSV like the users' one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mailferry.app import SourceRequest, TargetRequest
from mailferry.app.files import read_csv
from mailferry.app.targets import TARGET_LOGINS
from mailferry.errors import ContentFilterError
from mailferry.interfaces.cli.oauth_options import oauth_fields, oauth_options
from mailferry.interfaces.cli.target_limit_options import target_limit_fields, target_limit_options
from mailferry.values.connection import AuthMethod, Security
from mailferry.values.content_filter import parse_content_filter

F = TypeVar("F", bound=Callable[..., Any])
_SECURITY = click.Choice([s.value for s in Security], case_sensitive=False)


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
            "--target-user-format",
            help="How the target knows each mailbox: {address} (default), {local}, or a template "
            "of {address}, {local}, {domain} (master-user, admin-authzid, xoauth2).",
        ),
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
    return target_limit_options(oauth_options(command))


def _content_filter(
    _context: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    """The option's text once it parses; a filter that can't be used is a usage error
    naming why (the façade parses it again: the API's requests come without click)."""
    if value is None:
        return None
    try:
        parse_content_filter(value)
    except ContentFilterError as error:
        raise click.BadParameter(error.reason) from None
    return value


def source_request(params: dict[str, Any]) -> SourceRequest:
    ca_file: Path | None = params["ca_file"]
    return SourceRequest(
        remote_server=params["source_server"],
        port=params["port"],
        security=params["security"],
        authentication=params["authentication"],
        accept_untrusted_certificates=params["accept_untrusted_certificates"],
        ca_file=None if ca_file is None else str(ca_file),
    )


def target_request(params: dict[str, Any]) -> TargetRequest:
    """The target as text; its secret read from ``--target-password-file`` (else the
    façade takes ``MAILFERRY_TARGET_PASSWORD``), per-user logins from ``--target-csv``."""
    password_file: Path | None = params["target_password_file"]
    target_csv: Path | None = params["target_csv"]
    ca_file: Path | None = params["target_ca_file"]
    return TargetRequest(
        target=params["target"],
        login=params["target_login"],
        admin_user=params["target_admin"],
        security=params["target_security"],
        separator=params["master_separator"],
        user_format=params["target_user_format"],
        secret=None
        if password_file is None
        else password_file.read_text(encoding="utf-8").strip("\r\n"),
        logins_csv=None if target_csv is None else read_csv(target_csv, source_name="--target-csv"),
        logins_csv_name="--target-csv",
        ca_file=None if ca_file is None else str(ca_file),
        accept_untrusted_certificates=params["target_accept_untrusted_certificates"],
        **oauth_fields(
            params["oauth_provider"], params["oauth_setting"], params["oauth_settings_file"]
        ),
        **target_limit_fields(params),
    )


def users_csv(params: dict[str, Any]) -> tuple[bytes, str]:
    """The users CSV's bytes and its name (the façade parses it)."""
    path: Path = params["csv_path"]
    return read_csv(path), str(path)


def folder_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
