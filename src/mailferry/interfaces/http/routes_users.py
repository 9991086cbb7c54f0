"""Migration users: pages of ``/batches/{name}/users`` and ``/users``, one user's view
and statistics, and the user actions (Start / Stop / SyncNow / Remove).

Pages are keyset pages in address order (a 50,000-user batch costs one page per
request): ``Next`` is the ``after`` of the next page, ``NextLink`` the whole path and
query, also sent as a ``Link: <…>; rel="next"`` header; ``Total`` counts every match.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from mailferry.interfaces.http.depends import Access, BatchName, Email, Facade, Routes
from mailferry.interfaces.http.schemas import UserRemoval, UsersPage, UserStatisticsView, UserView
from mailferry.values.exchange_statuses import StatusName, StatusSummaryName

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

StatusFilter = Annotated[
    StatusName | None,
    Query(description="Only users showing this status (ours, or any of Exchange's names)."),
]
SummaryFilter = Annotated[
    StatusSummaryName | None,
    Query(alias="statusSummary", description="Only users of this StatusSummary."),
]
After = Annotated[str | None, Query(max_length=320, description="The Next of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Users per page.")]


def batch_users(
    mailferry: Facade,
    request: Request,
    response: Response,
    name: BatchName,
    status: StatusFilter = None,
    after: After = None,
    limit: Limit = DEFAULT_LIMIT,
    summary: SummaryFilter = None,
) -> dict[str, Any]:
    """Get-MigrationUser -BatchId: the batch's users, a page at a time."""
    page = _page(mailferry, request, response, name, (status, summary), after, limit)
    if page["Total"] == 0:
        mailferry.get_batch(name)  # an unknown batch is a 404, not an empty page
    return page


def users(
    mailferry: Facade,
    request: Request,
    response: Response,
    batch: Annotated[str | None, Query(description="Only this batch's users.")] = None,
    status: StatusFilter = None,
    after: After = None,
    limit: Limit = DEFAULT_LIMIT,
    summary: SummaryFilter = None,
) -> dict[str, Any]:
    """Get-MigrationUser: every user (of a batch, of a status), a page at a time."""
    return _page(mailferry, request, response, batch, (status, summary), after, limit)


def _page(
    mailferry: Facade,
    request: Request,
    response: Response,
    batch: str | None,
    filters: tuple[StatusName | None, StatusSummaryName | None],
    after: str | None,
    limit: int,
) -> dict[str, Any]:
    status, summary = (None if f is None else f.value for f in filters)
    page = mailferry.get_users(
        batch=batch, status=status, status_summary=summary, after=after, limit=limit
    )
    link = None
    if page["Next"] is not None:
        query = {k: v for k, v in request.query_params.items() if k != "after"}
        link = f"{request.url.path}?{urlencode({**query, 'after': page['Next']})}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return {**page, "NextLink": link}


def get_user(mailferry: Facade, email: Email) -> dict[str, Any]:
    """Get-MigrationUser -Identity."""
    return mailferry.get_user(email)


def user_statistics(
    mailferry: Facade,
    email: Email,
    include_skipped: Annotated[bool, Query(alias="includeSkippedItems")] = False,
    include_report: Annotated[bool, Query(alias="includeReport")] = False,
) -> dict[str, Any]:
    """Get-MigrationUserStatistics: counts, bytes, durations; the skipped items and the
    timeline (Report) when asked for."""
    return mailferry.user_statistics(
        email, include_skipped=include_skipped, include_report=include_report
    )


def start_user(mailferry: Facade, email: Email) -> dict[str, Any]:
    """Start-MigrationUser: resume a Stopped user, retry a Failed one."""
    return mailferry.start_user(email)


def stop_user(mailferry: Facade, email: Email) -> dict[str, Any]:
    """Stop-MigrationUser: Stopped at once, or Stopping while its job is cancelled."""
    return mailferry.stop_user(email)


def sync_user(mailferry: Facade, email: Email) -> dict[str, Any]:
    """Set-MigrationUser -SyncNow: an incremental sync of a synced user."""
    return mailferry.sync_user(email)


def remove_user(
    mailferry: Facade,
    email: Email,
    force: Annotated[
        bool, Query(description="Remove even if it synced before the MX switch.")
    ] = False,
) -> dict[str, Any]:
    """Remove-MigrationUser: purges the user, its password and its sync state (Purged
    false: Removing until its running job has been cancelled)."""
    return mailferry.remove_user(email, force=force)


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(tags=["users"]), read, write)
    add = table.add
    add("GET", "/batches/{name}/users", batch_users, response_model=UsersPage)
    add("GET", "/users", users, response_model=UsersPage)
    add("GET", "/users/{email}", get_user, response_model=UserView)
    add("DELETE", "/users/{email}", remove_user, response_model=UserRemoval)
    add("GET", "/users/{email}/statistics", user_statistics, response_model=UserStatisticsView)
    for action in (start_user, stop_user, sync_user):
        path = f"/users/{{email}}/{action.__name__.split('_')[0]}"
        add("POST", path, action, response_model=UserView)
    return table.router
