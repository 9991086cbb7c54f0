"""Targets and sources given as text, turned into what the service stores or opens.

``maildir:PATH`` (made absolute: the service may run elsewhere), ``imap://HOST[:PORT]``
or ``imaps://HOST[:PORT]`` (Ssl). A batch's target becomes ``TargetSettings`` and its
secret text (the vault encrypts it); a one-shot run's becomes a ``TargetSpec`` with its
login. The secret is never a command-line value: the request carries it (read from a
file by the CLI, from the body by the API), else ``MAILFERRY_TARGET_PASSWORD``;
per-user logins come from a CSV like the users' one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mailferry.app.oauth_targets import batch_oauth_secret, oauth_login
from mailferry.app.requests import SourceRequest, TargetRequest
from mailferry.app.target_limits import settings_with_limits, spec_with_limits
from mailferry.errors import InvalidSetting
from mailferry.values.connection import AuthMethod, Security, default_port

if TYPE_CHECKING:
    from mailferry.service.migration_spec import SourceSpec, TargetSpec
    from mailferry.state.migration_records import TargetSettings
    from mailferry.stores.logins import TargetLogin, UserFormat

PASSWORD_ENV = "MAILFERRY_TARGET_PASSWORD"
TARGET_LOGINS = ("master-user", "admin-authzid", "per-user", "xoauth2")
ADMIN_LOGINS = ("master-user", "admin-authzid")


def parse_target(
    text: str,
    *,
    login: str = "master-user",
    admin_user: str | None = None,
    security: str | None = None,
    separator: str = "*",
    what: str = "--target",
    oauth_provider: str | None = None,
    user_format: str | None = None,
) -> TargetSettings:
    """A batch's target: ``maildir:PATH`` or ``imap[s]://HOST[:PORT]`` with its login
    mode and admin user."""
    from mailferry.state.migration_records import TargetSettings

    if text.startswith("maildir:"):
        root = text.removeprefix("maildir:")
        if not root:
            raise InvalidSetting([f"{what} maildir: needs a path, e.g. maildir:/srv/mail"])
        return TargetSettings(kind="maildir", maildir_root=str(Path(root).expanduser().resolve()))
    host, port_text, mode = _imap_url(text, security, what)
    problems = []
    if login not in TARGET_LOGINS:
        problems.append(f"target login {login!r} is not one of {', '.join(TARGET_LOGINS)}")
    if login in ADMIN_LOGINS and not admin_user:
        problems.append(f"target login {login} needs the admin user (--target-user)")
    if oauth_provider is not None and login != "xoauth2":
        problems.append("--oauth-provider is for target login xoauth2")
    port = _port(port_text, mode, text, what, problems)
    if problems:
        raise InvalidSetting(problems)
    return TargetSettings(
        kind="imap",
        host=host,
        port=port,
        security=mode.value,
        login=login,
        admin_user=admin_user if login in ADMIN_LOGINS else None,
        separator=separator,
        oauth_provider=oauth_provider if login == "xoauth2" else None,
        user_format=_user_format(user_format).template,
    )


def _user_format(text: str | None) -> UserFormat:
    from mailferry.stores.logins import UserFormat

    return UserFormat() if text is None else UserFormat(text)


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


def batch_target(request: TargetRequest | None, default: TargetSettings | None) -> TargetSettings:
    """The request's target, else the service's default one (with the request's preset
    and bandwidth caps, if it has any)."""
    if request is not None and request.target is not None:
        return settings_with_limits(
            parse_target(
                request.target,
                login=request.login,
                admin_user=request.admin_user,
                security=request.security,
                separator=request.separator,
                oauth_provider=request.oauth_provider,
                user_format=request.user_format,
            ),
            request,
        )
    if default is None:
        raise InvalidSetting(["no target given and no default target is configured"])
    return settings_with_limits(default, request)


def batch_secret(
    target: TargetSettings, request: TargetRequest | None, env: Mapping[str, str]
) -> str | None:
    """The secret an IMAP target needs (None for a Maildir target); per-user logins
    become the JSON object the service stores: address -> [user, password]."""
    if target.kind != "imap":
        return None
    if target.login == "per-user":
        logins = _per_user_logins(request)
        return json.dumps({address: list(pair) for address, pair in logins.items()})
    if target.login == "xoauth2" and target.oauth_provider is not None:
        return batch_oauth_secret(target.oauth_provider, request, env)
    return _secret(request, env)


def source_spec(request: SourceRequest) -> SourceSpec:
    from mailferry.connection.options import ConnectOptions
    from mailferry.service.migration_spec import SourceSpec

    security = parse_security(request.security, "Security")
    options = ConnectOptions(
        host=request.remote_server,
        port=request.port or default_port(security),
        security=security,
        accept_untrusted_certificates=request.accept_untrusted_certificates,
        ca_file=Path(request.ca_file) if request.ca_file else None,
    )
    return SourceSpec(options, parse_authentication(request.authentication, "Authentication"))


def target_spec(request: TargetRequest, env: Mapping[str, str]) -> TargetSpec:
    """A one-shot run's target with its login (the admin user defaults to ``admin``)."""
    from mailferry.service.migration_spec import parse_target as parse_spec

    if request.target is None:
        raise InvalidSetting(["a one-shot run needs its target (--target)"])
    maildir = request.target.startswith("maildir:")
    if not maildir:
        _imap_url(request.target, request.security, "--target")  # the URL before its login
    return spec_with_limits(
        parse_spec(
            request.target,
            security=parse_security(request.security or "None", "--target-security"),
            ca_file=Path(request.ca_file) if request.ca_file else None,
            accept_untrusted_certificates=request.accept_untrusted_certificates,
            login=None if maildir else _target_login(request, env),
            user_format=_user_format(request.user_format),
        ),
        request,
    )


def _target_login(request: TargetRequest, env: Mapping[str, str]) -> TargetLogin:
    from mailferry.stores import logins

    mode = request.login
    if mode not in TARGET_LOGINS:
        raise InvalidSetting([f"target login {mode!r} is not one of {', '.join(TARGET_LOGINS)}"])
    if mode == "per-user":
        return logins.PerUser(_per_user_logins(request))
    if mode == "xoauth2" and request.oauth_provider is not None:
        return oauth_login(request.oauth_provider, request, env)
    secret = _secret(request, env)
    admin = request.admin_user or "admin"
    if mode == "admin-authzid":
        return logins.AdminAuthzid(admin, secret)
    if mode == "xoauth2":
        return logins.XOAuth2(logins.StaticTokenProvider(secret))
    return logins.MasterUser(admin, secret, request.separator)


def _per_user_logins(request: TargetRequest | None) -> dict[str, tuple[str, str]]:
    from mailferry.service.users_csv.parse import parse_users_csv

    if request is None or request.logins_csv is None:
        raise InvalidSetting(["target login per-user needs the target logins CSV (--target-csv)"])
    rows = parse_users_csv(request.logins_csv, source_name=request.logins_csv_name)
    return {row.email_address: (row.user_name, row.password) for row in rows}


def _secret(request: TargetRequest | None, env: Mapping[str, str]) -> str:
    secret = request.secret if request is not None else None
    if secret is None:
        secret = env.get(PASSWORD_ENV)
    if secret is None:
        where = f"--target-password-file or {PASSWORD_ENV}"
        raise InvalidSetting([f"an IMAP target needs its password or token: {where}"])
    return secret


def _imap_url(text: str, security: str | None, what: str) -> tuple[str, str, Security]:
    parts = urlsplit(text)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise InvalidSetting([f"{what} {text!r} is neither maildir:PATH nor imap://HOST:PORT"])
    if parts.scheme == "imaps":
        return parts.hostname, parts.netloc, Security.SSL
    return parts.hostname, parts.netloc, parse_security(security or "None", what)


def _port(netloc: str, mode: Security, text: str, what: str, problems: list[str]) -> int:
    try:
        port = urlsplit(f"//{netloc}").port
    except ValueError:
        problems.append(f"{what} {text!r} has an invalid port")
        return 0
    return port or default_port(mode)


def parse_security(text: str, what: str) -> Security:
    try:
        return Security.parse(text)
    except ValueError as error:
        raise InvalidSetting([f"{what}: {error}"]) from None


def parse_authentication(text: str, what: str) -> AuthMethod:
    try:
        return AuthMethod.parse(text)
    except ValueError as error:
        raise InvalidSetting([f"{what}: {error}"]) from None


def with_gmail(target: TargetSettings, source_kind: str, gmail_labels: str) -> TargetSettings:
    """A batch's target with how a Gmail source's labels map to its folders (checked;
    unchanged, and so still the service's default target, when both are the defaults)."""
    from mailferry.values.sync_options import GMAIL_LABEL_MODES, SOURCE_KINDS

    problems = [
        f"{name} {value!r} is not one of {', '.join(allowed)}"
        for name, value, allowed in (
            ("SourceKind", source_kind, SOURCE_KINDS),
            ("GmailLabels", gmail_labels, GMAIL_LABEL_MODES),
        )
        if value not in allowed
    ]
    if problems:
        raise InvalidSetting(problems)
    if (source_kind, gmail_labels) == (target.source_kind, target.gmail_labels):
        return target
    return replace(target, source_kind=source_kind, gmail_labels=gmail_labels)


def with_locale(target: TargetSettings, locale: str | None) -> TargetSettings:
    """A batch's target with -Locale's folder names (checked; unchanged when None)."""
    from mailferry.engine.target_locales import special_names

    if locale is None:
        return target
    special_names(locale)  # InvalidSetting names the locales known
    return replace(target, locale=locale.strip())
