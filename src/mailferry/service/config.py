"""Get-MigrationConfig / Set-MigrationConfig: service-wide settings an administrator
changes from any interface, kept in the database (``service_config``).

Each value is, in order: the one Set-MigrationConfig stored, else the environment's
(``MAILFERRY_…``, read when the service opens), else the default. Set stores a value
(``None`` takes it back to the environment's or the default); the process that sets it
uses it at once and a running ``mailferry serve`` reads it at its next pass
(``apply_stored``). ``MaxNumberOfBatches`` caps the batches that may exist (New-
MigrationBatch is refused at the cap, ``LimitReached``); Exchange documents it, and
``MaxConcurrentMigrations``, for on-premises only; here the per-endpoint caps stay the
concurrency control.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mailferry.errors import InvalidSetting
from mailferry.service.context import ServiceContext, ServiceSettings


@dataclass(frozen=True)
class ConfigKey:
    """One setting: its ServiceSettings field, how a value is checked and stored."""

    field: str
    unit: str  # "count", "hours" or "days"
    minimum: float = 1
    maximum: float = 1_000_000  # hours: ~114 years, days: ~2,700 years, counts: plenty

    def to_setting(self, value: float) -> Any:
        if self.unit == "hours":
            return dt.timedelta(hours=value)
        if self.unit == "days":
            return dt.timedelta(days=value) if value > 0 else None  # 0: never
        return int(value)

    def shown(self, setting: Any) -> float | int | None:
        if setting is None:
            return 0 if self.unit == "days" else None
        if isinstance(setting, dt.timedelta):
            seconds = setting.total_seconds()
            return seconds / 3600 if self.unit == "hours" else seconds / 86400
        return int(setting)


CONFIG: Mapping[str, ConfigKey] = {
    "MaxNumberOfBatches": ConfigKey("max_number_of_batches", "count"),
    "IncrementalSyncIntervalHours": ConfigKey("incremental_interval", "hours", 0.01),
    "ReportIntervalHours": ConfigKey("report_interval", "hours", 0.01),
    "ConnectionsPerMailbox": ConfigKey("connections_per_mailbox", "count"),
    "StopSyncedAfterDays": ConfigKey("stop_synced_after", "days", 0),
    "RemoveStoppedAfterDays": ConfigKey("remove_stopped_after", "days", 0),
    "RemoveCompletedAfterDays": ConfigKey("remove_completed_after", "days", 0),
}
"""Set-MigrationConfig's parameters (cleanup days: 0 = never)."""


def config_view(ctx: ServiceContext) -> dict[str, Any]:
    """Get-MigrationConfig: each setting's value in effect and where it comes from."""
    stored = ctx.store.service_config()
    view: dict[str, Any] = {"Identity": "MigrationConfig"}
    for name, key in CONFIG.items():
        view[name] = key.shown(getattr(ctx.settings, key.field))
    view["SetByAdministrator"] = sorted(stored)
    return view


def set_config(ctx: ServiceContext, changes: Mapping[str, float | None]) -> dict[str, Any]:
    """Store the given values (None: back to the environment's or the default)."""
    unknown = sorted(set(changes) - set(CONFIG))
    problems = [f"{name} is not a MigrationConfig setting" for name in unknown]
    for name, value in changes.items():
        key = CONFIG.get(name)
        if key is not None and value is not None and not key.minimum <= value <= key.maximum:
            problems.append(
                f"{name} must be from {key.minimum:g} to {key.maximum:g}, not {value:g}"
            )
    if problems:
        raise InvalidSetting(problems)
    stored = {**ctx.store.service_config(), **changes}
    kept = {name: value for name, value in stored.items() if value is not None}
    ctx.store.set_service_config(kept, ctx.now())
    ctx.store.add_event("config_changed", ctx.now(), changes=sorted(changes))
    if ctx.env_settings is None:
        ctx.env_settings = ctx.settings  # nothing was stored before: these are the env's
    ctx.settings = apply_stored(ctx.env_settings, kept)
    return config_view(ctx)


def apply_stored(settings: ServiceSettings, stored: Mapping[str, Any]) -> ServiceSettings:
    """``settings`` (the environment's) with the stored values over them."""
    values = {CONFIG[n].field: CONFIG[n].to_setting(v) for n, v in stored.items() if n in CONFIG}
    return replace(settings, **values)


def load_stored(ctx: ServiceContext) -> None:
    """Apply the stored values (when the service opens, and at each scheduler pass of
    ``mailferry serve``: a cheap one-row read)."""
    stored = ctx.store.service_config()
    if not stored and ctx.env_settings is None:
        return  # nothing was ever set: the settings stay the caller's
    if ctx.env_settings is None:
        ctx.env_settings = ctx.settings
    ctx.settings = apply_stored(ctx.env_settings, stored)
