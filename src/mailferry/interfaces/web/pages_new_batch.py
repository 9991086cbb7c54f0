"""New batch: pick an endpoint, upload the users CSV, set the options; a refused CSV
comes back as a table of its problems (row, column, what) and nothing is created."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from mailferry.app import BatchRequest, TargetRequest
from mailferry.errors import CsvValidationError, MailferryError
from mailferry.interfaces.error_words import describe
from mailferry.interfaces.web.guard import FacadeDep, FormDep, SessionDep
from mailferry.interfaces.web.pages_batches import batch_url
from mailferry.interfaces.web.render import page

router = APIRouter()
LOGINS = ("master-user", "admin-authzid", "per-user", "xoauth2")


class FormProblem(ValueError):
    pass


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _lines(form: FormData, key: str) -> tuple[str, ...]:
    """One value a line (or comma-separated for addresses)."""
    text = _text(form, key).replace("\r", "")
    parts = text.split("\n") if key != "notification_emails" else text.replace("\n", ",").split(",")
    return tuple(p.strip() for p in parts if p.strip())


def _time(form: FormData, key: str, words: str) -> dt.datetime | None:
    """A ``datetime-local`` value, read as UTC."""
    text = _text(form, key)
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FormProblem(f"{words}: {text!r} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _target(form: FormData) -> TargetRequest | None:
    target = _text(form, "target")
    if not target:
        return None
    login = _text(form, "target_login") or "master-user"
    return TargetRequest(
        target=target,
        login=login,
        admin_user=_text(form, "target_user") or None,
        secret=_text(form, "target_password") or None,
    )


async def _request(form: FormData) -> BatchRequest:
    upload = form.get("csv")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise FormProblem("choose the users CSV file to upload")
    data = await upload.read()
    if not _text(form, "name"):
        raise FormProblem("give the batch a name")
    if not _text(form, "endpoint"):
        raise FormProblem("pick the source endpoint")
    return BatchRequest(
        name=_text(form, "name"),
        source_endpoint=_text(form, "endpoint"),
        csv_data=data,
        csv_name=upload.filename,
        target=_target(form),
        exclude_folders=_lines(form, "exclude_folders"),
        include_folders=_lines(form, "include_folders"),
        auto_start=form.get("auto_start") == "on",
        start_after=_time(form, "start_after", "Start after"),
        complete_after=_time(form, "complete_after", "Complete after"),
        notification_emails=_lines(form, "notification_emails"),
    )


def _form_page(
    request: Request, session: SessionDep, app: FacadeDep, values: dict[str, Any],
    status: int = 200, **extra: Any,
) -> Response:  # fmt: skip
    endpoints = [e["Name"] for e in app.get_endpoints()]
    return page(
        request, "batch_new.html", session, status, endpoints=endpoints, values=values,
        logins=LOGINS, **extra,
    )  # fmt: skip


@router.get("/batches/new")
def new_batch_page(request: Request, session: SessionDep, app: FacadeDep) -> Response:
    return _form_page(request, session, app, {})


@router.post("/batches/new")
async def new_batch(
    request: Request, session: SessionDep, form: FormDep, app: FacadeDep
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str) and "password" not in k}
    values.pop("csrf", None)
    try:
        made = await run_in_threadpool(app.new_batch, await _request(form))
    except CsvValidationError as error:
        problems = [{"row": p.row, "column": p.column, "reason": p.reason} for p in error.problems]
        return _form_page(
            request, session, app, values, 422, problems=problems, csv_name=error.source_name
        )
    except (MailferryError, FormProblem) as error:
        words = describe(error) if isinstance(error, MailferryError) else str(error)
        return _form_page(request, session, app, values, 422, error=words)
    started = " and started" if made.get("AutoStart") else ""
    session.flash("ok", f"Batch {made['Name']!r} created{started} with {made['TotalCount']} users.")
    return RedirectResponse(batch_url(made["Name"]), status_code=303)
