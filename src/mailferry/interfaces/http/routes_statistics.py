"""The service-wide routes: ``/statistics`` (Get-MigrationStatistics: every migration
user, summed by status, with the items and bytes copied) and ``/config``
(Get-/Set-MigrationConfig: the settings an administrator keeps in the database)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from mailferry.interfaces.http.depends import Access, Facade, Routes
from mailferry.interfaces.http.schemas import JsonRequest, View


class StatisticsView(View):
    Identity: str
    MigrationType: str
    TotalCount: int
    ActiveCount: int
    StoppedCount: int
    SyncedCount: int
    FinalizedCount: int
    FailedCount: int
    PendingCount: int
    ProvisionedCount: int
    BatchCount: int
    BatchesByStatus: dict[str, int]
    SyncedItemCount: int
    SkippedItemCount: int
    BytesTransferred: int


def statistics(mailferry: Facade) -> dict[str, Any]:
    """The service's roll-up (two aggregate queries, whatever the number of users)."""
    return mailferry.migration_statistics()


class ConfigView(View):
    Identity: str
    MaxNumberOfBatches: int | None
    IncrementalSyncIntervalHours: float
    ReportIntervalHours: float
    ConnectionsPerMailbox: int
    StopSyncedAfterDays: float
    RemoveStoppedAfterDays: float
    RemoveCompletedAfterDays: float
    SetByAdministrator: list[str]


LIMIT = 1_000_000  # service/config.py's largest value


class ConfigPatch(JsonRequest):
    """Set-MigrationConfig: a value stores it, null takes it back to the default."""

    MaxNumberOfBatches: int | None = Field(default=None, ge=1, le=LIMIT)
    IncrementalSyncIntervalHours: float | None = Field(default=None, gt=0, le=LIMIT)
    ReportIntervalHours: float | None = Field(default=None, gt=0, le=LIMIT)
    ConnectionsPerMailbox: int | None = Field(default=None, ge=1, le=LIMIT)
    StopSyncedAfterDays: float | None = Field(default=None, ge=0, le=LIMIT)
    RemoveStoppedAfterDays: float | None = Field(default=None, ge=0, le=LIMIT)
    RemoveCompletedAfterDays: float | None = Field(default=None, ge=0, le=LIMIT)


def get_config(mailferry: Facade) -> dict[str, Any]:
    """Get-MigrationConfig: the settings in effect, and which an administrator set."""
    return mailferry.get_config()


def set_config(mailferry: Facade, body: ConfigPatch) -> dict[str, Any]:
    """Set-MigrationConfig: the fields sent are stored (null: back to the default)."""
    return mailferry.set_config(body.model_dump(exclude_unset=True))


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(tags=["service"]), read, write)
    table.add("GET", "/statistics", statistics, response_model=StatisticsView)
    table.add("GET", "/config", get_config, response_model=ConfigView)
    table.add("PATCH", "/config", set_config, response_model=ConfigView)
    return table.router
