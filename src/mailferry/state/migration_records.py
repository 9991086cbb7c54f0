"""Values the service's repository reads and writes: endpoints, batches, migration users,
their statistics and the event log. Secrets never appear here in clear: they are stored
encrypted (``*_secret`` fields hold the vault's ciphertext) and excluded from repr.

Field names follow Exchange Online's objects (``MaxConcurrentMigrations``,
``TotalItemsInSourceMailboxCount``…) in snake case; the interfaces render them in
PascalCase.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mailferry.values.statuses import BatchStatus, UserStatus


@dataclass(frozen=True)
class Endpoint:
    """A migration endpoint: the source IMAP server shared by batches."""

    id: int
    name: str
    remote_server: str
    port: int
    security: str  # "None" | "Ssl" | "Tls"
    authentication: str  # "Basic" | "Plain" | "XOAuth2"
    max_concurrent_migrations: int
    max_concurrent_incremental_syncs: int
    accept_untrusted_certificates: bool
    ca_file: str | None  # extra trust anchor (a private CA), mailferry's addition
    created_at: dt.datetime
    endpoint_type: str = "IMAP"


@dataclass(frozen=True)
class TargetSettings:
    """Where a batch's mail goes (no secrets: those are in ``Batch.target_secret``).

    ``kind`` is ``maildir`` (``maildir_root``) or ``imap`` (``host``, ``port``,
    ``security``, ``login``: ``master-user`` | ``admin-authzid`` | ``per-user`` |
    ``xoauth2``, with ``admin_user`` and ``separator`` where they apply).
    ``oauth_provider``: an xoauth2 login's renewing provider (``entra`` | ``google`` |
    ``refresh-token``, its settings in the vault; None: one fixed token);
    ``user_format``: the target user name of each row (``stores.logins.UserFormat``).
    ``source_kind`` / ``gmail_labels``: how a Gmail source's labels become the target's
    folders (``values.sync_options.SyncOptions``, ``docs/targets/gmail.md``).
    """

    kind: str
    maildir_root: str | None = None
    host: str | None = None
    port: int | None = None
    security: str = "None"
    accept_untrusted_certificates: bool = False
    ca_file: str | None = None
    login: str | None = None
    admin_user: str | None = None
    separator: str = "*"
    oauth_provider: str | None = None
    user_format: str = "{address}"
    preset: str | None = None  # engine.target_presets (e.g. m365)
    max_bytes_per_second: int | None = None  # per target mailbox (stores.bandwidth)
    endpoint_max_bytes_per_second: int | None = None  # all the endpoint's mailboxes
    source_kind: str = "auto"
    gmail_labels: str = "one-folder"
    locale: str | None = None  # -Locale: special folder names (engine/target_locales.py)

    def describe(self) -> str:
        """Part of every mailbox key: never change it (keys of running migrations)."""
        if self.kind == "maildir":
            return f"maildir:{self.maildir_root}"
        return f"imap://{self.host}:{self.port}"

    def display(self) -> str:
        """What the administrator sees: ``imaps://`` for Ssl, ``(STARTTLS)`` for Tls,
        then the preset and caps if there are any (``[preset m365, 262144 B/s]``)."""
        return self._where() + self._limits()

    def _where(self) -> str:
        if self.kind == "imap" and self.security == "Ssl":
            return f"imaps://{self.host}:{self.port}"
        if self.kind == "imap" and self.security == "Tls":
            return f"{self.describe()} (STARTTLS)"
        return self.describe()

    def _limits(self) -> str:
        shown = [f"preset {self.preset}"] if self.preset else []
        if self.max_bytes_per_second is not None:
            shown.append(f"{self.max_bytes_per_second} B/s per mailbox")
        if self.endpoint_max_bytes_per_second is not None:
            shown.append(f"{self.endpoint_max_bytes_per_second} B/s per endpoint")
        return f" [{', '.join(shown)}]" if shown else ""


@dataclass(frozen=True)
class BatchOptions:
    """New-/Set-MigrationBatch's settings beyond the schedule (revision 0011, JSON).

    ``max_message_size`` / ``max_items`` (None: the service's defaults, 35 MB and
    500,000), ``include_deleted``, ``propagate_deletions``: as one-shot ``migrate``'s.
    ``auto_complete``: complete the batch once its initial sync is done (Exchange's
    -AutoComplete). ``report_interval_hours``: how often its report is mailed (None: the
    service's); ``skip_reports``: never. ``time_zone``: the IANA zone its StartAfter /
    CompleteAfter were given in (shown; the times are kept in UTC).
    ``skipped_items_approved_at``: when -ApproveSkippedItems was given (ISO time).
    """

    max_message_size: int | None = None
    max_items: int | None = None
    include_deleted: bool = False
    propagate_deletions: bool = False
    auto_complete: bool = False
    report_interval_hours: float | None = None
    skip_reports: bool = False
    time_zone: str | None = None
    skipped_items_approved_at: str | None = None


@dataclass(frozen=True)
class Batch:
    id: int
    name: str
    status: BatchStatus
    source_endpoint_id: int
    source_endpoint: str  # the endpoint's name
    target: TargetSettings
    exclude_folders: tuple[str, ...]
    include_folders: tuple[str, ...]
    auto_start: bool
    start_after: dt.datetime | None
    complete_after: dt.datetime | None
    notification_emails: tuple[str, ...]
    created_at: dt.datetime
    started_at: dt.datetime | None
    initial_sync_finished_at: dt.datetime | None  # InitialSyncDuration = this - started_at
    last_synced_at: dt.datetime | None
    mx_switched_at: dt.datetime | None
    completed_at: dt.datetime | None
    last_report_at: dt.datetime | None
    error: str | None
    content_filter: str | None = None  # -ContentFilter as given (a Received window)
    target_secret: bytes | None = field(default=None, repr=False)
    options: BatchOptions = field(default_factory=BatchOptions)


@dataclass(frozen=True)
class MigrationUser:
    """One CSV row of a batch, its status and its statistics."""

    id: int
    batch_id: int
    batch: str  # the batch's name
    row: int
    email_address: str
    user_name: str
    user_root: str | None
    status: UserStatus
    error: str | None
    error_kind: str | None
    mailbox_key: str
    # statistics (Get-MigrationUserStatistics)
    total_items_in_source: int
    synced_item_count: int
    skipped_item_count: int
    bytes_transferred: int
    queued_seconds: float
    in_progress_seconds: float
    queued_since: dt.datetime | None
    started_at: dt.datetime | None  # the current job's start, while one runs
    last_successful_sync_at: dt.datetime | None
    initial_sync_done: bool
    next_sync_at: dt.datetime | None
    sync_requested: bool
    attempts: int
    retry_at: dt.datetime | None
    claimed_by: str | None
    claimed_until: dt.datetime | None
    # Synced: waiting between syncs; stalled: waiting to retry after a transient error.
    synced_seconds: float = 0.0
    stalled_seconds: float = 0.0
    synced_since: dt.datetime | None = None
    stalled_since: dt.datetime | None = None
    target_user_name: str | None = None  # the CSV's TargetUserName (revision 0007)
    estimated_total_bytes: int | None = None  # the source's bytes in scope (revision 0011)
    password_secret: bytes = field(default=b"", repr=False)

    @property
    def percentage_complete(self) -> int:
        """100 only for a user whose last sync left nothing behind: its initial sync is
        done, it is not Failed or IncrementalFailed, and its last finished sync counted
        every source message copied or skipped; otherwise the share done, at most 99."""
        done = self.synced_item_count + self.skipped_item_count
        failed = self.status.value in ("Failed", "IncrementalFailed")
        if self.initial_sync_done and not failed and done >= self.total_items_in_source:
            return 100
        if self.total_items_in_source <= 0:
            return 0
        return min(99, int(100 * done / self.total_items_in_source))


@dataclass(frozen=True)
class Event:
    """One line of the event log (``detail`` is JSON-able, never a secret)."""

    id: int
    at: dt.datetime
    kind: str
    batch_id: int | None
    user_id: int | None
    endpoint_id: int | None
    detail: dict[str, Any]
