"""The service's settings, read from the environment (the CLI and the API share these).

- ``MAILFERRY_DB``: database URL; default ``sqlite:///<home>/mailferry.db``
- ``MAILFERRY_HOME``: default ``~/.local/share/mailferry``
- ``MAILFERRY_KEY``: the vault key as text; else the key file ``<home>/secret.key``
  (created on first use)
- ``MAILFERRY_TARGET`` (``maildir:PATH`` | ``imap://HOST:PORT``) with
  ``MAILFERRY_TARGET_LOGIN``, ``MAILFERRY_TARGET_USER``, ``MAILFERRY_TARGET_SECURITY``:
  the default target; else ``maildir:<home>/mail``
- ``MAILFERRY_TARGET_PASSWORD``: the target's secret when a request gives none
- ``MAILFERRY_CA_FILE``: an extra CA the target's certificate may chain to
- ``MAILFERRY_SMTP_SERVER`` (``HOST[:PORT]``), ``MAILFERRY_SMTP_SECURITY``,
  ``MAILFERRY_SMTP_USER``, ``MAILFERRY_SMTP_PASSWORD``, ``MAILFERRY_SMTP_FROM``: where
  batch reports are e-mailed
- ``MAILFERRY_CLEANUP_STOP_SYNCED_DAYS`` (60), ``MAILFERRY_CLEANUP_REMOVE_STOPPED_DAYS``
  (90), ``MAILFERRY_CLEANUP_REMOVE_COMPLETED_DAYS`` (60): the automatic clean-up of old
  batches (``app.cleanup_settings``; 0: never)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mailferry.errors import InvalidSetting

if TYPE_CHECKING:
    from mailferry.service.context import ServiceContext, ServiceSettings
    from mailferry.service.reports.notifications import SmtpSettings

DEFAULT_HOME = "~/.local/share/mailferry"


def mailferry_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("MAILFERRY_HOME") or DEFAULT_HOME).expanduser()


def has_database(env: Mapping[str, str]) -> bool:
    """Whether a database is configured or already exists (``mx check`` records then)."""
    if env.get("MAILFERRY_DB"):
        return True
    return (mailferry_home(env) / "mailferry.db").exists()


def database_url(db_option: str | None, env: Mapping[str, str]) -> str:
    """``--db``, else ``MAILFERRY_DB``, else the SQLite file in the home directory."""
    if db_option:
        return db_option
    if env.get("MAILFERRY_DB"):
        return env["MAILFERRY_DB"]
    home = mailferry_home(env)
    if not home.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{home.resolve() / 'mailferry.db'}"


def vault_key(env: Mapping[str, str]) -> bytes:
    from mailferry.service.vault import key_from_text, load_or_create_key

    text = env.get("MAILFERRY_KEY")
    if text:
        return key_from_text(text)
    return load_or_create_key(mailferry_home(env) / "secret.key")


def service_settings(env: Mapping[str, str]) -> ServiceSettings:
    from mailferry.app.cleanup_settings import cleanup_periods
    from mailferry.app.targets import target_from_env
    from mailferry.service.context import ServiceSettings

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
        default_target=target_from_env(env, mailferry_home(env)), ca_file=ca_file, smtp=smtp,
        **cleanup_periods(env),  # type: ignore[arg-type]
    )  # fmt: skip


def smtp_settings(
    server: str | None, security: str, user: str | None, sender: str, env: Mapping[str, str]
) -> SmtpSettings | None:
    """``HOST[:PORT]`` (default port by security: 25, 465 Ssl, 587 Tls); the password
    only ever from ``MAILFERRY_SMTP_PASSWORD``."""
    from mailferry.service.reports.notifications import SmtpSettings

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
    from mailferry.service.context import ServiceContext
    from mailferry.service.vault import Vault
    from mailferry.state.service_store import ServiceStore

    settings = service_settings(env)
    vault = Vault(vault_key(env))
    from mailferry.service.config import load_stored

    store = ServiceStore.open(database_url(db_option, env))
    assert isinstance(store, ServiceStore)
    ctx = ServiceContext(store=store, vault=vault, settings=settings)
    load_stored(ctx)  # Set-MigrationConfig's values over the environment's
    return ctx
