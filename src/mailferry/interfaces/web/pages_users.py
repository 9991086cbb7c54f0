"""A migration user's page: statistics, skipped items, timeline, error, actions."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mailferry.errors import MailferryError
from mailferry.interfaces.error_words import describe
from mailferry.interfaces.web.guard import FacadeDep, FormDep, SessionDep
from mailferry.interfaces.web.outcome import attempt
from mailferry.interfaces.web.pages_batches import batch_url
from mailferry.interfaces.web.render import page

router = APIRouter()
SKIPPED_SHOWN = 500


def user_url(email: str, suffix: str = "") -> str:
    return f"/users/{quote(email, safe='@')}{suffix}"


def timeline(lines: list[str]) -> list[tuple[str, str]]:
    """The report's ``TIME kind: detail`` lines as (time, what)."""
    return [(line.partition(" ")[0], line.partition(" ")[2]) for line in lines]


@router.get("/users/{email}")
def user_page(request: Request, email: str, session: SessionDep, app: FacadeDep) -> Response:
    try:
        user = app.get_user(email)
        stats = app.user_statistics(
            email, include_skipped=True, skipped_limit=SKIPPED_SHOWN, include_report=True
        )
    except MailferryError as error:
        session.flash("error", describe(error))
        return RedirectResponse("/batches", status_code=303)
    return page(
        request, "user.html", session, user=user, stats=stats,
        events=timeline(stats.get("Report", [])), skipped_shown=SKIPPED_SHOWN,
        batch_url=batch_url, user_url=user_url,
    )  # fmt: skip


USER_ACTIONS = {
    "sync": ("sync_user", "{email}: an incremental sync was asked for."),
    "stop": ("stop_user", "{email}: stopping."),
    "start": ("start_user", "{email}: resuming (or retrying)."),
}


@router.post("/users/{email}/{action}")
def user_action(
    email: str, action: str, session: SessionDep, form: FormDep, app: FacadeDep
) -> Response:
    if action == "remove":
        if form.get("confirm") != "on":
            session.flash("error", "Tick the box to confirm the removal.")
            return RedirectResponse(user_url(email), status_code=303)
        batch = app.get_user(email)["BatchId"] if _exists(app, email) else None
        back = batch_url(batch) if batch else "/batches"
        force = form.get("force") == "on"
        return attempt(
            session, lambda: app.remove_user(email, force=force), f"{email} removed.", back
        )
    if action not in USER_ACTIONS:
        return Response("404: no such action", status_code=404)
    method, words = USER_ACTIONS[action]
    return attempt(
        session, lambda: getattr(app, method)(email), words.format(email=email), user_url(email)
    )


def _exists(app: FacadeDep, email: str) -> bool:
    try:
        app.get_user(email)
    except MailferryError:
        return False
    return True
