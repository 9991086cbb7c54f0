"""Batches: the list (live), a batch's page (properties, users paged, chart, actions),
removal with its confirmation, and the report download."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mailferry.errors import MailferryError
from mailferry.interfaces.error_words import describe
from mailferry.interfaces.http.downloads import streamed
from mailferry.interfaces.http.sse import SETTLED_BATCH
from mailferry.interfaces.web.charts import progress_chart
from mailferry.interfaces.web.guard import FacadeDep, FormDep, SessionDep
from mailferry.interfaces.web.outcome import attempt
from mailferry.interfaces.web.render import page
from mailferry.values.statuses import BatchStatus, UserStatus

router = APIRouter()
PAGE_SIZE = 50
CHART_MAX_USERS = 5000
"""The chart reads every user's statistics: drawn for batches up to this size."""
BATCH_STATUSES = [s.value for s in BatchStatus]
USER_STATUSES = [s.value for s in UserStatus]


def batch_url(name: str, suffix: str = "") -> str:
    return f"/batches/{quote(name, safe='')}{suffix}"


def _listing(app: FacadeDep, status: str, q: str) -> tuple[list[dict[str, Any]], str | None]:
    try:
        found = app.get_batches(status=status or None)
    except MailferryError as error:
        return [], describe(error)
    wanted = q.strip().casefold()
    return [b for b in found if wanted in str(b["Name"]).casefold()], None


def _list_values(request: Request, app: FacadeDep) -> dict[str, Any]:
    status = request.query_params.get("status", "")
    q = request.query_params.get("q", "")
    batches, error = _listing(app, status, q)
    query = urlencode({"status": status, "q": q})
    return {
        "batches": batches,
        "filter_error": error,
        "status": status,
        "q": q,
        "statuses": BATCH_STATUSES,
        "live_url": f"/batches/live?{query}",
        "active": any(b["Status"] not in SETTLED_BATCH for b in batches),
        "batch_url": batch_url,
    }


@router.get("/batches")
def batches_page(request: Request, session: SessionDep, app: FacadeDep) -> Response:
    return page(request, "batches.html", session, **_list_values(request, app))


@router.get("/batches/live")
def batches_live(request: Request, session: SessionDep, app: FacadeDep) -> Response:
    values = _list_values(request, app)
    return page(request, "_batches_table.html", session, fragment=True, **values)


def _summary_values(app: FacadeDep, batch: dict[str, Any]) -> dict[str, Any]:
    chart = None
    if 0 < batch["TotalCount"] <= CHART_MAX_USERS:
        progress = app.batch_progress([batch["Name"]])
        chart = progress_chart(progress[0]["Users"]) if progress else None
    return {"chart": chart, "chart_max": CHART_MAX_USERS}


def _users_values(request: Request, app: FacadeDep, name: str) -> dict[str, Any]:
    """One page of the batch's users (keyset paging: ``after`` the last address shown;
    ``start`` only numbers the rows) with their statistics."""
    status = request.query_params.get("status", "")
    after = request.query_params.get("after") or None
    start_text = request.query_params.get("start", "0")
    start = int(start_text) if start_text.isdigit() else 0
    users_error = None
    try:
        listed = app.get_users(batch=name, status=status or None, after=after, limit=PAGE_SIZE)
    except MailferryError as error:
        listed, users_error = {"Items": [], "Next": None, "Total": 0}, describe(error)
    stats = {}
    for user in listed["Items"]:
        try:
            stats[user["EmailAddress"]] = app.user_statistics(user["EmailAddress"])
        except MailferryError:
            continue  # removed meanwhile
    base = {"status": status} if status else {}
    next_url = None
    if listed["Next"] is not None:
        params = {**base, "after": listed["Next"], "start": str(start + len(listed["Items"]))}
        next_url = batch_url(name, "?" + urlencode(params))
    here = {**base, **({"after": after, "start": str(start)} if after else {})}
    return {
        "users": listed["Items"],
        "stats": stats,
        "users_total": listed["Total"],
        "users_error": users_error,
        "start": start,
        "status": status,
        "statuses": USER_STATUSES,
        "next_url": next_url,
        "first_url": batch_url(name, "?" + urlencode(base)) if after else None,
        "users_live_url": batch_url(name, "/live?" + urlencode({**here, "part": "users"})),
    }


def _common(batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "batch": batch,
        "active": batch["Status"] not in SETTLED_BATCH,
        "live_url": batch_url(batch["Name"], "/live?part=summary"),
        "batch_url": batch_url,
    }


@router.get("/batches/{name}")
def batch_page(request: Request, name: str, session: SessionDep, app: FacadeDep) -> Response:
    try:
        batch = app.get_batch(name)
        values = {**_common(batch), **_summary_values(app, batch)}
        values |= _users_values(request, app, name)
    except MailferryError as error:
        session.flash("error", describe(error))
        return RedirectResponse("/batches", status_code=303)
    return page(request, "batch.html", session, **values)


@router.get("/batches/{name}/live")
def batch_live(request: Request, name: str, session: SessionDep, app: FacadeDep) -> Response:
    """A live region of the batch page: ``part=summary`` (status, counters, chart) or
    ``part=users`` (the page of users the query names)."""
    users = request.query_params.get("part") == "users"
    try:
        batch = app.get_batch(name)
        values = _common(batch)
        values |= _users_values(request, app, name) if users else _summary_values(app, batch)
    except MailferryError as error:
        return page(request, "_gone.html", session, fragment=True, reason=describe(error))
    template = "_batch_users.html" if users else "_batch_summary.html"
    return page(request, template, session, fragment=True, **values)


ACTIONS = {
    "start": ("start_batch", "Batch {name!r}: starting (or resuming, retrying failed users)."),
    "stop": ("stop_batch", "Batch {name!r}: stopping."),
    "complete": ("complete_batch", "Batch {name!r}: completing (a final incremental sync)."),
    "sync": ("sync_batch", "Batch {name!r}: an incremental sync was asked for."),
}


@router.post("/batches/{name}/{action}")
def batch_action(
    name: str, action: str, session: SessionDep, form: FormDep, app: FacadeDep
) -> Response:
    if action == "remove":
        force = form.get("force") == "on"
        return attempt(
            session,
            lambda: app.remove_batch(name, force=force),
            f"Batch {name!r} is being removed.",
            "/batches",
        )
    if action not in ACTIONS:
        return Response("404: no such action", status_code=404)
    method, words = ACTIONS[action]
    return attempt(
        session, lambda: getattr(app, method)(name), words.format(name=name), batch_url(name)
    )


@router.get("/batches/{name}/remove")
def remove_page(request: Request, name: str, session: SessionDep, app: FacadeDep) -> Response:
    try:
        batch = app.get_batch(name)
        incomplete = app.incomplete_users(name)
    except MailferryError as error:
        session.flash("error", describe(error))
        return RedirectResponse("/batches", status_code=303)
    return page(
        request, "batch_remove.html", session, batch=batch, incomplete=incomplete[:20],
        incomplete_count=len(incomplete), batch_url=batch_url,
    )  # fmt: skip


@router.get("/batches/{name}/report.{fmt}")
async def report(name: str, fmt: str, session: SessionDep, app: FacadeDep) -> Response:
    if fmt not in ("csv", "json"):
        return Response("404: the report is .csv or .json", status_code=404)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    try:
        return await streamed(
            lambda sink: app.write_batch_report(name, fmt, sink), media, f"{name}-report.{fmt}"
        )
    except MailferryError as error:
        session.flash("error", describe(error))
        return RedirectResponse(batch_url(name), status_code=303)
