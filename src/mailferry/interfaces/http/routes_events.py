"""``/events``: the event log, as a live Server-Sent Events stream or as JSON pages.

``Accept: text/event-stream`` (what an ``EventSource`` sends) gets the live stream
(``sse``): from ``Last-Event-ID`` (a reconnect), else ``after``, else from now. Any
other ``Accept`` gets a JSON page of the log after ``after`` (for scripts, and so every
operation of the schema has a finite answer). ``batch`` keeps one batch's events.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from mailferry.errors import NotFound
from mailferry.interfaces.http.depends import Access, Facade, Routes
from mailferry.interfaces.http.schemas import EventsPage
from mailferry.interfaces.http.sse import SETTLED_BATCH as SETTLED
from mailferry.interfaces.http.sse import (
    EventCursor,
    ProgressWatch,
    StreamSettings,
    accepts,
    event_stream,
)

EVENT_STREAM = "text/event-stream"
MAX_LIMIT = 1000
MAX_ID = 2**63 - 1
"""The largest id a database stores (a bigger ``after`` is refused, not an overflow)."""
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


async def events(
    request: Request,
    mailferry: Facade,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Events after this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per JSON page.")] = 100,
    batch: Annotated[str | None, Query(description="Only this batch's events.")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Any:
    """The event log: statuses, actions, jobs starting and ending (``Kind``), live."""
    if EVENT_STREAM in request.headers.get("accept", ""):
        start = _resume(last_event_id, after)
        return await _stream(request, mailferry, start, batch)
    rows = await run_in_threadpool(mailferry.events, after=after or 0, limit=limit)
    wanted = accepts(batch)
    top = max((int(row["Id"]) for row in rows), default=after or 0)
    return {"Items": [row for row in rows if wanted(row)], "Next": top}


def _resume(last_event_id: str | None, after: int | None) -> int | None:
    text = (last_event_id or "").strip()
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    return after  # none, or not an id of ours: ignored, as EventSource expects


async def _stream(
    request: Request, mailferry: Facade, start: int | None, batch: str | None
) -> StreamingResponse:
    settings: StreamSettings = getattr(request.app.state, "stream_settings", StreamSettings())
    if batch is not None:
        await run_in_threadpool(mailferry.get_batch, batch)  # unknown: 404 before streaming
    begin = start if start is not None else await run_in_threadpool(mailferry.last_event_id)
    working = await run_in_threadpool(_working_batches, mailferry, batch)
    stream = event_stream(
        lambda floor, limit: mailferry.events(after=floor, limit=limit),
        lambda name: _batch_or_none(mailferry, name),
        EventCursor(begin),
        ProgressWatch(working, batch),
        settings,
    )
    return StreamingResponse(stream, media_type=EVENT_STREAM, headers=STREAM_HEADERS)


def _working_batches(mailferry: Facade, only: str | None) -> list[str]:
    views = [mailferry.get_batch(only)] if only is not None else mailferry.get_batches()
    return [view["Name"] for view in views if view["Status"] not in SETTLED]


def _batch_or_none(mailferry: Facade, name: str) -> dict[str, Any] | None:
    try:
        return mailferry.get_batch(name)
    except NotFound:
        return None  # removed meanwhile


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(tags=["events"]), read, write)
    table.add(
        "GET",
        "/events",
        events,
        response_model=EventsPage,
        responses={
            200: {
                "description": "A JSON page, or the live stream with Accept: text/event-stream.",
                "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
            }
        },
    )
    return table.router
