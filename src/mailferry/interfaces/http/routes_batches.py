"""``/batches``: New / Get / Set / Start / Stop / Complete / Remove-MigrationBatch,
SyncNow, adding users, and the batch report as a download.

Actions only record intent (the scheduler of ``mailferry serve`` carries them out) and
answer with the batch as it is then; the event stream (``/events``) shows what follows.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from mailferry.app import BatchChanges, BatchRequest, TargetRequest
from mailferry.errors import InvalidSetting
from mailferry.interfaces.http.depends import Access, BatchName, Facade, Routes, created
from mailferry.interfaces.http.downloads import streamed
from mailferry.interfaces.http.schemas import (
    AddUsersSettings,
    BatchPatch,
    BatchSettings,
    BatchView,
    SyncView,
)
from mailferry.interfaces.http.uploads import Upload, read_upload, upload_openapi
from mailferry.values.statuses import BatchStatus

LISTS = ("ExcludeFolders", "IncludeFolders", "NotificationEmails")
NEXT = (
    "get_batch", "set_batch", "start_batch", "stop_batch", "complete_batch", "sync_batch",
    "add_users", "batch_users", "batch_report", "remove_batch",
)  # fmt: skip
"""What a new batch's links lead to."""
REPORT_MEDIA = {"csv": "text/csv", "json": "application/json", "exchange": "text/csv"}


def get_batches(
    mailferry: Facade,
    status: Annotated[
        BatchStatus | None, Query(description="Only batches with this status.")
    ] = None,
    endpoint: Annotated[
        str | None, Query(description="Only batches using this source endpoint.")
    ] = None,
) -> list[dict[str, Any]]:
    """Get-MigrationBatch: every batch (of a status, of an endpoint), by name."""
    return mailferry.get_batches(status=None if status is None else status.value, endpoint=endpoint)


async def new_batch(request: Request, mailferry: Facade) -> JSONResponse:
    """New-MigrationBatch from a users CSV (EmailAddress,UserName,Password): multipart
    (file field ``csv``, settings as form fields) or a ``text/csv`` body (settings as
    query parameters). A refused CSV is a 422 listing every row's problem."""
    settings, upload = await read_upload(request, BatchSettings, LISTS)
    view = await run_in_threadpool(mailferry.new_batch, batch_request(settings, upload))
    location = f"/api/v1/batches/{quote(view['Name'], safe='')}"
    return JSONResponse(BatchView.model_validate(view).model_dump(), 201, {"Location": location})


def batch_request(s: BatchSettings, upload: Upload) -> BatchRequest:
    target = None
    limits = (s.TargetPreset, s.MaxBytesPerSecond, s.EndpointMaxBytesPerSecond)
    if s.Target is not None or any(value is not None for value in limits):
        target = TargetRequest(
            target=s.Target,
            login=s.TargetLogin,
            admin_user=s.TargetUser,
            security=s.TargetSecurity,
            separator=s.MasterSeparator,
            user_format=s.TargetUserFormat,
            secret=s.TargetPassword,
            logins_csv=upload.logins,
            logins_csv_name=upload.logins_filename or "target CSV",
            oauth_provider=s.OAuthProvider,
            oauth_settings=oauth_settings(s.OAuthSettings),
            preset=s.TargetPreset,
            max_bytes_per_second=s.MaxBytesPerSecond,
            endpoint_max_bytes_per_second=s.EndpointMaxBytesPerSecond,
        )
    return BatchRequest(
        name=s.Name,
        source_endpoint=s.SourceEndpoint,
        csv_data=upload.data,
        csv_name=upload.filename,
        target=target,
        exclude_folders=tuple(s.ExcludeFolders),
        include_folders=tuple(s.IncludeFolders),
        auto_start=s.AutoStart,
        start_after=s.StartAfter,  # without a zone: in TimeZone, else UTC (the façade)
        complete_after=s.CompleteAfter,
        notification_emails=tuple(s.NotificationEmails),
        allow_unknown_columns=s.AllowUnknownColumns,
        content_filter=s.ContentFilter,
        source_kind=s.SourceKind,
        gmail_labels=s.GmailLabels,
        max_message_size=s.MaxMessageSize,
        max_items=s.ItemLimit,
        include_deleted=s.IncludeDeleted,
        propagate_deletions=s.PropagateDeletions,
        auto_complete=s.AutoComplete,
        report_interval_hours=s.ReportIntervalHours,
        skip_reports=s.SkipReports,
        time_zone=s.TimeZone,
        locale=s.Locale,
    )


def oauth_settings(text: str | None) -> dict[str, Any] | None:
    """The ``OAuthSettings`` field's JSON object (its values never echoed in an error)."""
    if text is None:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict):
        raise InvalidSetting(["OAuthSettings must be a JSON object of settings"])
    return loaded


def get_batch(
    mailferry: Facade,
    name: BatchName,
    include_report: Annotated[
        bool, Query(alias="includeReport", description="Add the batch's timeline.")
    ] = False,
    diagnostic_info: Annotated[
        bool, Query(alias="diagnosticInfo", description="Add DiagnosticInfo.")
    ] = False,
) -> dict[str, Any]:
    """Get-MigrationBatch -Identity: status, counters, settings (-IncludeReport,
    -DiagnosticInfo)."""
    return mailferry.get_batch(name, include_report=include_report, diagnostic=diagnostic_info)


def set_batch(mailferry: Facade, name: BatchName, body: BatchPatch) -> dict[str, Any]:
    """Set-MigrationBatch: StartAfter, CompleteAfter, NotificationEmails, folders,
    ContentFilter, the target's preset and caps, its OAuth2 settings."""
    target = None
    limits = (body.TargetPreset, body.MaxBytesPerSecond, body.EndpointMaxBytesPerSecond)
    if body.OAuthSettings or any(value is not None for value in limits):
        target = TargetRequest(
            preset=body.TargetPreset,
            max_bytes_per_second=body.MaxBytesPerSecond,
            endpoint_max_bytes_per_second=body.EndpointMaxBytesPerSecond,
            oauth_settings=body.OAuthSettings,
        )
    changes = BatchChanges(
        start_after=body.StartAfter,
        complete_after=body.CompleteAfter,
        notification_emails=_tuple(body.NotificationEmails),
        exclude_folders=_tuple(body.ExcludeFolders),
        include_folders=_tuple(body.IncludeFolders),
        content_filter=body.ContentFilter,
        target=target,
        max_message_size=body.MaxMessageSize,
        max_items=body.ItemLimit,
        include_deleted=body.IncludeDeleted,
        propagate_deletions=body.PropagateDeletions,
        auto_complete=body.AutoComplete,
        report_interval_hours=body.ReportIntervalHours,
        skip_reports=body.SkipReports,
        time_zone=body.TimeZone,
        approve_skipped_items=body.ApproveSkippedItems,
        update=body.Update,
        locale=body.Locale,
    )
    return mailferry.set_batch(name, changes)


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def remove_batch(
    mailferry: Facade,
    name: BatchName,
    force: Annotated[
        bool, Query(description="Remove even if users synced before the MX switch.")
    ] = False,
) -> JSONResponse:
    """Remove-MigrationBatch: Removing now; the scheduler cancels its copies, then purges
    the batch, its users and every stored credential (202: that happens next)."""
    return JSONResponse(
        BatchView.model_validate(mailferry.remove_batch(name, force=force)).model_dump(), 202
    )


def start_batch(mailferry: Facade, name: BatchName) -> dict[str, Any]:
    """Start-MigrationBatch: start a Created batch, resume a Stopped one, retry failed users."""
    return mailferry.start_batch(name)


def stop_batch(mailferry: Facade, name: BatchName) -> dict[str, Any]:
    """Stop-MigrationBatch."""
    return mailferry.stop_batch(name)


def complete_batch(mailferry: Facade, name: BatchName) -> dict[str, Any]:
    """Complete-MigrationBatch: a final incremental sync, then no more syncing."""
    return mailferry.complete_batch(name)


def sync_batch(mailferry: Facade, name: BatchName) -> dict[str, Any]:
    """Set-MigrationBatch -SyncNow: an incremental sync of the synced users."""
    return mailferry.sync_batch(name)


async def add_users(request: Request, mailferry: Facade, name: BatchName) -> dict[str, Any]:
    """Add a CSV's users to a batch (multipart field ``csv`` or a ``text/csv`` body)."""
    settings, upload = await read_upload(request, AddUsersSettings, ())
    view: dict[str, Any] = await run_in_threadpool(
        lambda: mailferry.add_users(
            name, upload.data, upload.filename, allow_unknown_columns=settings.AllowUnknownColumns
        )
    )
    return view


async def batch_report(
    mailferry: Facade,
    name: BatchName,
    format: Annotated[
        Literal["csv", "json", "exchange"],
        Query(description="csv (two tables), json, or exchange (the EAC's user columns)"),
    ] = "csv",
) -> StreamingResponse:
    """The batch report: every user's statistics and skipped items, streamed."""
    text = REPORT_MEDIA[format] == "text/csv"
    suffix = "json" if format == "json" else "csv"
    return await streamed(
        lambda sink: mailferry.write_batch_report(name, format, sink),
        REPORT_MEDIA[format] + ("; charset=utf-8" if text else ""),
        f"{name}-{'exchange-' if format == 'exchange' else ''}report.{suffix}",
    )


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(prefix="/batches", tags=["batches"]), read, write)
    add = table.add
    add("GET", "", get_batches, response_model=list[BatchView])
    add(
        "POST", "", new_batch, status_code=201, response_model=BatchView,
        openapi_extra=upload_openapi(BatchSettings, with_logins=True),
        responses=created("name", "Name", *NEXT),
    )  # fmt: skip
    add("GET", "/{name}", get_batch, response_model=BatchView)
    add("PATCH", "/{name}", set_batch, response_model=BatchView)
    add("DELETE", "/{name}", remove_batch, status_code=202, response_model=BatchView)
    for action in (start_batch, stop_batch, complete_batch):
        add("POST", f"/{{name}}/{action.__name__.split('_')[0]}", action, response_model=BatchView)
    add("POST", "/{name}/sync", sync_batch, response_model=SyncView)
    add(
        "POST", "/{name}/users", add_users, response_model=BatchView,
        openapi_extra=upload_openapi(AddUsersSettings, with_logins=False),
    )  # fmt: skip
    add(
        "GET", "/{name}/report", batch_report, response_class=StreamingResponse,
        responses={200: {"content": {m: {} for m in REPORT_MEDIA.values()}}},
    )  # fmt: skip
    return table.router
