"""A batch's target as the CLI and the environment write it, turned into TargetSettings.

``maildir:PATH`` (made absolute: the service may run elsewhere), ``imap://HOST[:PORT]``
or ``imaps://HOST[:PORT]`` (Ssl). The secret that goes with an IMAP target is never a
command-line value: it comes from a file or ``MAILFERRY_TARGET_PASSWORD``, and per-user
target logins from a CSV like the users' one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from mailferry.connection.options import Security, default_port
from mailferry.service.batches.manage import TARGET_LOGINS
from mailferry.service.service_errors import InvalidSetting
from mailferry.service.users_csv.file import read_csv_file
from mailferry.service.users_csv.parse import parse_users_csv
from mailferry.state.migration_records import TargetSettings

PASSWORD_ENV = "MAILFERRY_TARGET_PASSWORD"
ADMIN_LOGINS = ("master-user", "admin-authzid")


def parse_target(
    text: str,
    *,
    login: str = "master-user",
    admin_user: str | None = None,
    security: str | None = None,
    separator: str = "*",
    what: str = "--target",
) -> TargetSettings:
    """``maildir:PATH`` or ``imap[s]://HOST[:PORT]`` with its login mode and admin user."""
    if text.startswith("maildir:"):
        root = text.removeprefix("maildir:")
        if not root:
            raise InvalidSetting([f"{what} maildir: needs a path, e.g. maildir:/srv/mail"])
        return TargetSettings(kind="maildir", maildir_root=str(Path(root).expanduser().resolve()))
    parts = urlsplit(text)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise InvalidSetting([f"{what} {text!r} is neither maildir:PATH nor imap://HOST:PORT"])
    mode = Security.SSL if parts.scheme == "imaps" else _security(security, what)
    problems = []
    if login not in TARGET_LOGINS:
        problems.append(f"target login {login!r} is not one of {', '.join(TARGET_LOGINS)}")
    if login in ADMIN_LOGINS and not admin_user:
        problems.append(f"target login {login} needs the admin user (--target-user)")
    try:
        port = parts.port or default_port(mode)
    except ValueError:
        problems.append(f"{what} {text!r} has an invalid port")
        port = 0
    if problems:
        raise InvalidSetting(problems)
    return TargetSettings(
        kind="imap",
        host=parts.hostname,
        port=port,
        security=mode.value,
        login=login,
        admin_user=admin_user if login in ADMIN_LOGINS else None,
        separator=separator,
    )


def target_from_env(env: Mapping[str, str], home: Path) -> TargetSettings:
    """The service's default target: ``MAILFERRY_TARGET`` or ``maildir:<home>/mail``."""
    text = env.get("MAILFERRY_TARGET") or f"maildir:{home / 'mail'}"
    return parse_target(
        text,
        login=env.get("MAILFERRY_TARGET_LOGIN") or "master-user",
        admin_user=env.get("MAILFERRY_TARGET_USER") or None,
        security=env.get("MAILFERRY_TARGET_SECURITY") or None,
        what="MAILFERRY_TARGET",
    )


def target_secret(
    target: TargetSettings, password_file: Path | None, target_csv: Path | None
) -> str | None:
    """The secret an IMAP target needs (None for a Maildir target).

    Per-user logins become the JSON object the service stores: address -> [user, password].
    """
    if target.kind != "imap":
        return None
    if target.login == "per-user":
        if target_csv is None:
            raise InvalidSetting(["target login per-user needs --target-csv"])
        rows = parse_users_csv(read_csv_file(target_csv), source_name=str(target_csv))
        return json.dumps({row.email_address: [row.user_name, row.password] for row in rows})
    if password_file is not None:
        return password_file.read_text(encoding="utf-8").strip("\r\n")
    secret = os.environ.get(PASSWORD_ENV)
    if secret is None:
        where = f"--target-password-file or {PASSWORD_ENV}"
        raise InvalidSetting([f"an IMAP target needs its password or token: {where}"])
    return secret


def _security(text: str | None, what: str) -> Security:
    try:
        return Security.parse(text or "None")
    except ValueError as error:
        raise InvalidSetting([f"{what}: {error}"]) from None
