"""Rows of the service's tables turned into records, and records' values into rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import Select, select

from mailferry.state.migration_records import (
    Batch,
    BatchOptions,
    Endpoint,
    Event,
    MigrationUser,
    TargetSettings,
)
from mailferry.state.schema import batches, endpoints, events, migration_users
from mailferry.values.statuses import BatchStatus, UserStatus

_ENDPOINT_FIELDS = [f.name for f in fields(Endpoint) if f.name != "endpoint_type"]
_USER_FIELDS = [f.name for f in fields(MigrationUser) if f.name not in ("batch",)]
_BATCH_JSON = ("exclude_folders", "include_folders", "notification_emails")


def endpoint_query() -> Select[Any]:
    return select(*(endpoints.c[name] for name in _ENDPOINT_FIELDS))


def endpoint_record(row: Any) -> Endpoint:
    values = dict(row._mapping)
    values["accept_untrusted_certificates"] = bool(values["accept_untrusted_certificates"])
    return Endpoint(**values)


def batch_query() -> Select[Any]:
    return select(batches, endpoints.c.name.label("endpoint_name")).join(
        endpoints, endpoints.c.id == batches.c.source_endpoint_id
    )


def batch_record(row: Any) -> Batch:
    values = dict(row._mapping)
    return Batch(
        id=values["id"],
        name=values["name"],
        status=BatchStatus(values["status"]),
        source_endpoint_id=values["source_endpoint_id"],
        source_endpoint=values["endpoint_name"],
        target=TargetSettings(**json.loads(values["target"])),
        exclude_folders=tuple(json.loads(values["exclude_folders"])),
        include_folders=tuple(json.loads(values["include_folders"])),
        auto_start=bool(values["auto_start"]),
        start_after=values["start_after"],
        complete_after=values["complete_after"],
        notification_emails=tuple(json.loads(values["notification_emails"])),
        created_at=values["created_at"],
        started_at=values["started_at"],
        initial_sync_finished_at=values["initial_sync_finished_at"],
        last_synced_at=values["last_synced_at"],
        mx_switched_at=values["mx_switched_at"],
        completed_at=values["completed_at"],
        last_report_at=values["last_report_at"],
        error=values["error"],
        content_filter=values["content_filter"],
        target_secret=values["target_secret"],
        options=BatchOptions(**json.loads(values["options"] or "{}")),
    )


def batch_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for batch fields (JSON for lists and the target, text for status)."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in _BATCH_JSON:
            value = json.dumps(list(value))
        elif name in ("target", "options"):
            value = json.dumps(asdict(value))
        elif name == "status":
            value = BatchStatus(value).value
        values[name] = value
    return values


def user_query() -> Select[Any]:
    columns = [migration_users.c[name] for name in _USER_FIELDS]
    return select(*columns, batches.c.name.label("batch")).join(
        batches, batches.c.id == migration_users.c.batch_id
    )


def user_record(row: Any) -> MigrationUser:
    values = dict(row._mapping)
    values["status"] = UserStatus(values["status"])
    values["initial_sync_done"] = bool(values["initial_sync_done"])
    values["sync_requested"] = bool(values["sync_requested"])
    values["password_secret"] = bytes(values["password_secret"])
    return MigrationUser(**values)


def user_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(changes)
    if "status" in values:
        values["status"] = UserStatus(values["status"]).value
    return values


def new_user_row(batch_id: int, user: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults for a migration user that has not run yet."""
    row = {
        "batch_id": batch_id,
        "status": UserStatus.QUEUED.value,
        "error": None,
        "error_kind": None,
        "total_items_in_source": 0,
        "synced_item_count": 0,
        "skipped_item_count": 0,
        "bytes_transferred": 0,
        "queued_seconds": 0.0,
        "in_progress_seconds": 0.0,
        "queued_since": None,
        "started_at": None,
        "last_successful_sync_at": None,
        "initial_sync_done": False,
        "next_sync_at": None,
        "sync_requested": False,
        "attempts": 0,
        "retry_at": None,
        "claimed_by": None,
        "claimed_until": None,
        "synced_seconds": 0.0,
        "stalled_seconds": 0.0,
        "synced_since": None,
        "stalled_since": None,
    }
    row.update(user)
    return row


def event_record(row: Any) -> Event:
    values = dict(row._mapping)
    values["detail"] = json.loads(values["detail"])
    return Event(**values)


def event_query() -> Select[Any]:
    return select(events)


def as_tuple(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(values)
