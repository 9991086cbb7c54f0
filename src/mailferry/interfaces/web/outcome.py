"""What an action says back: a flash message for the next page (Post/Redirect/Get)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import RedirectResponse

from mailferry.errors import MailferryError
from mailferry.interfaces.error_words import describe
from mailferry.interfaces.web.sessions import Session


def attempt(session: Session, action: Callable[[], Any], done: str, back: str) -> RedirectResponse:
    """Run ``action``; flash ``done`` or the error's words; redirect (303) to ``back``."""
    try:
        action()
    except MailferryError as error:
        session.flash("error", describe(error))
    else:
        session.flash("ok", done)
    return RedirectResponse(back, status_code=303)
