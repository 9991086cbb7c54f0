"""Templates (Jinja2, autoescaped: folder names, subjects and senders come from mail)
and the headers every console page carries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mailferry.interfaces.web.sessions import Session

HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def size(value: Any) -> str:
    """Bytes for people: ``36.2 MB`` (decimal units, as mail clients show)."""
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(amount) < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


def when(value: Any) -> str:
    """An ISO time as ``2026-12-03 15:40:02 UTC``; a dash for none."""
    if not value:
        return "—"
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(size=size, when=when, number=number)


def page(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    *,
    fragment: bool = False,
    **values: Any,
) -> HTMLResponse:
    """A whole page, or a ``fragment`` (live refresh: it leaves the flashes alone)."""
    context = {
        "request": request,
        "session": session,
        "csrf": session.csrf if session is not None else "",
        "flashes": session.take_flashes() if session is not None and not fragment else [],
        **values,
    }
    html = ENV.get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
