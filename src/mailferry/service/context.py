"""What every service use case needs: the store, the vault, the clock and the settings.

The interfaces build one ``ServiceContext`` (reading flags, files and the environment)
and pass it to the use cases; nothing below reads configuration itself. The clock is
injectable so tests drive "24 hours later" without waiting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mailferry.service.reports.notifications import SmtpSettings
from mailferry.service.vault import Vault
from mailferry.state.migration_records import TargetSettings
from mailferry.state.service_store import ServiceStore

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ServiceSettings:
    """Service-wide settings (validated by the interface that read them)."""

    incremental_interval: dt.timedelta = dt.timedelta(hours=24)
    max_number_of_batches: int | None = None  # Set-MigrationConfig (None: no cap)
    report_interval: dt.timedelta = dt.timedelta(hours=24)
    lease: dt.timedelta = dt.timedelta(seconds=60)
    poll_seconds: float = 1.0
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 5  # transient failures in a row before the user fails
    stats_interval_seconds: float = 2.0  # how often a running job writes its counters
    connections_per_mailbox: int = 2  # session pairs per user: folders copied in parallel
    default_target: TargetSettings | None = None
    smtp: SmtpSettings | None = None
    ca_file: Path | None = None  # extra CA for the target (tests, private CAs)
    # The automatic clean-up (service/batches/cleanup.py); None: never.
    stop_synced_after: dt.timedelta | None = dt.timedelta(days=60)  # no admin activity
    remove_stopped_after: dt.timedelta | None = dt.timedelta(days=90)  # Stopped or Failed
    remove_completed_after: dt.timedelta | None = dt.timedelta(days=60)


@dataclass
class ServiceContext:
    store: ServiceStore
    vault: Vault
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    clock: Clock = system_clock
    env_settings: ServiceSettings | None = None  # before Set-MigrationConfig's (service/config)

    def now(self) -> dt.datetime:
        return self.clock()
