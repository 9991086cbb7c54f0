"""What the façade's use cases take: frozen dataclasses of plain values.

The CLI fills them from options and files, the REST API from JSON bodies and uploads;
the façade parses and checks them (targets given as text, content filters, CSVs), so
every interface shares one set of rules and one set of error messages. Secrets are
fields like any other but never shown (``repr=False``) and never returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TargetRequest:
    """A target as text: ``maildir:PATH`` or ``imap[s]://HOST[:PORT]`` (None: the
    service's default target, ``MAILFERRY_TARGET``; the secret still comes from here).

    ``login``: ``master-user`` | ``admin-authzid`` | ``per-user`` | ``xoauth2``;
    ``admin_user`` for the first two; ``secret`` is the admin password or the XOAUTH2
    token (None: ``MAILFERRY_TARGET_PASSWORD``); per-user logins come as a CSV
    (``logins_csv``: EmailAddress,UserName,Password). ``ca_file`` and
    ``accept_untrusted_certificates`` are for one-shot runs (a batch's target uses the
    service's ``MAILFERRY_CA_FILE``). ``oauth_provider`` (``entra`` | ``google`` |
    ``refresh-token``): an xoauth2 login's renewing tokens, with ``oauth_settings``
    (secrets included; ``MAILFERRY_OAUTH_<KEY>`` fills those not given);
    ``oauth_settings_file``: the JSON file they were read from, where a one-shot run
    writes back the refresh tokens a server rotated.
    ``user_format``: the name the target knows each mailbox by (``{address}`` when
    None, ``{local}``, or a template of ``{address}``, ``{local}`` and ``{domain}``).
    ``preset``: a known target's limits and folder names (``m365``);
    ``max_bytes_per_second`` / ``endpoint_max_bytes_per_second``: caps on the bytes
    written to each target mailbox / to the whole target endpoint (None: no cap).
    """

    target: str | None = None
    login: str = "master-user"
    admin_user: str | None = None
    security: str | None = None
    separator: str = "*"
    secret: str | None = field(default=None, repr=False)
    logins_csv: bytes | None = field(default=None, repr=False)
    logins_csv_name: str = "target CSV"
    ca_file: str | None = None
    accept_untrusted_certificates: bool = False
    oauth_provider: str | None = None
    oauth_settings: Mapping[str, Any] | None = field(default=None, repr=False)
    oauth_settings_file: str | None = None
    user_format: str | None = None
    preset: str | None = None
    max_bytes_per_second: int | None = None
    endpoint_max_bytes_per_second: int | None = None


@dataclass(frozen=True)
class EndpointChanges:
    """Set-MigrationEndpoint's parameters (None: unchanged)."""

    remote_server: str | None = None
    port: int | None = None
    security: str | None = None
    authentication: str | None = None
    max_concurrent_migrations: int | None = None
    max_concurrent_incremental_syncs: int | None = None
    accept_untrusted_certificates: bool | None = None
    ca_file: str | None = None  # an absolute path: the service may run elsewhere


@dataclass(frozen=True)
class EndpointRequest:
    """New-MigrationEndpoint's parameters (None: the default)."""

    name: str
    remote_server: str
    port: int | None = None
    security: str | None = None  # default Ssl
    authentication: str | None = None  # default Basic
    max_concurrent_migrations: int | None = None
    max_concurrent_incremental_syncs: int | None = None
    accept_untrusted_certificates: bool = False
    ca_file: str | None = None


@dataclass(frozen=True)
class ServerTestRequest:
    """Test-MigrationServerAvailability of a server (``user`` set: the login too)."""

    remote_server: str
    port: int | None = None
    security: str = "Ssl"
    authentication: str = "Basic"
    accept_untrusted_certificates: bool = False
    ca_file: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    authzid: str = ""
    timeout: float = 15.0


@dataclass(frozen=True)
class BatchRequest:
    """New-MigrationBatch's parameters; ``target`` None: the service's default target."""

    name: str
    source_endpoint: str
    csv_data: bytes = field(repr=False)
    csv_name: str = "CSV"
    target: TargetRequest | None = None
    exclude_folders: tuple[str, ...] = ()
    include_folders: tuple[str, ...] = ()
    auto_start: bool = False
    start_after: dt.datetime | None = None
    complete_after: dt.datetime | None = None
    notification_emails: tuple[str, ...] = ()
    allow_unknown_columns: bool = False
    content_filter: str | None = None
    source_kind: str = "auto"  # see SyncOptions (Gmail)
    gmail_labels: str = "one-folder"
    # app.batch_options (BatchOptions): limits, -AutoComplete, reports, -TimeZone
    max_message_size: int | None = None
    max_items: int | None = None
    include_deleted: bool = False
    propagate_deletions: bool = False
    auto_complete: bool = False
    report_interval_hours: float | None = None
    skip_reports: bool = False
    time_zone: str | None = None
    locale: str | None = None  # -Locale: the target's folder names (engine/target_locales)


@dataclass(frozen=True)
class BatchChanges:
    """Set-MigrationBatch's parameters (None: unchanged; ``content_filter=""`` removes it)."""

    start_after: dt.datetime | None = None
    complete_after: dt.datetime | None = None
    notification_emails: tuple[str, ...] | None = None
    exclude_folders: tuple[str, ...] | None = None
    include_folders: tuple[str, ...] | None = None
    content_filter: str | None = None
    target: TargetRequest | None = None  # preset, caps, OAuth2 settings (app.target_changes)
    # app.batch_options (None: unchanged)
    max_message_size: int | None = None
    max_items: int | None = None
    include_deleted: bool | None = None
    propagate_deletions: bool | None = None
    auto_complete: bool | None = None
    report_interval_hours: float | None = None
    skip_reports: bool | None = None
    time_zone: str | None = None
    approve_skipped_items: bool = False
    update: bool = False  # -Update: settings are read at each job anyway; recorded
    locale: str | None = None


@dataclass(frozen=True)
class SourceRequest:
    """The source IMAP server of a one-shot run (users log in with the CSV's logins)."""

    remote_server: str
    port: int | None = None
    security: str = "Ssl"
    authentication: str = "Basic"
    accept_untrusted_certificates: bool = False
    ca_file: str | None = None


@dataclass(frozen=True)
class MigrationRequest:
    """``mailferry migrate``: every user of a CSV from ``source`` to ``target``.

    ``state_path`` None: ``<home>/migrate/<hash of source and target>.db`` (run again
    with the same one for an incremental sync); ``processes`` None: half the CPUs, at
    most one per user. ``source_kind``/``gmail_labels``: see ``SyncOptions`` (Gmail).
    """

    source: SourceRequest
    target: TargetRequest
    csv_data: bytes = field(repr=False)
    csv_name: str = "CSV"
    state_path: str | None = None
    include_folders: tuple[str, ...] = ()
    exclude_folders: tuple[str, ...] = ()
    content_filter: str | None = None
    max_message_size: int = 36_700_160
    max_items: int = 500_000
    include_deleted: bool = False
    propagate_deletions: bool = False
    dry_run: bool = False
    max_concurrent: int = 4
    connections_per_mailbox: int = 2
    source_kind: str = "auto"
    gmail_labels: str = "one-folder"
    processes: int | None = None
    max_attempts: int = 5
    retry_base_seconds: float = 30.0


@dataclass(frozen=True)
class VerifyRequest:
    """``mailferry verify``: compare every CSV user's source and target (the same
    folder rules, limits and content filter as the migration decide what is expected)."""

    source: SourceRequest
    target: TargetRequest
    csv_data: bytes = field(repr=False)
    csv_name: str = "CSV"
    include_folders: tuple[str, ...] = ()
    exclude_folders: tuple[str, ...] = ()
    content_filter: str | None = None
    max_message_size: int = 36_700_160
    max_items: int = 500_000
    include_deleted: bool = False
    max_concurrent: int = 4
    source_kind: str = "auto"
    gmail_labels: str = "one-folder"


@dataclass(frozen=True)
class ServiceChanges:
    """Settings a ``serve`` overrides (None: from the environment / the defaults)."""

    incremental_interval: dt.timedelta | None = None
    report_interval: dt.timedelta | None = None
    poll_seconds: float | None = None
    lease: dt.timedelta | None = None
    retry_base_seconds: float | None = None
    max_attempts: int | None = None
    smtp_server: str | None = None
    smtp_security: str = "None"
    smtp_user: str | None = None
    smtp_from: str = "mailferry@localhost"
