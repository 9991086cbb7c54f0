"""Who may see and do what in the console: the session dependency and the CSRF check.

- No live session: a browser (``Accept`` naming ``text/html``) is sent to ``/signin``
  (303, with where it was going); anything else gets 401 (the live-refresh fetches,
  scripts, downloads asked for by a client that does not take HTML).
- Every POST carries the session's CSRF token as the ``csrf`` form field: without it,
  or with another one, 403 (nothing is done). The session cookie is SameSite=Strict
  too, so a forged cross-site form does not even carry the cookie.
- A read-only token may look at everything and change nothing (403).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import FormData

from mailferry.app import Mailferry
from mailferry.interfaces.web.sessions import Session, SessionStore

COOKIE = "mailferry_session"
SIGNIN_COOKIE = "mailferry_signin"  # the sign-in form's own CSRF token (double submit)


class SignInNeeded(Exception):
    def __init__(self, next_path: str, html: bool) -> None:
        super().__init__("sign in first")
        self.next_path = next_path
        self.html = html


class Refused(Exception):
    """403: no CSRF token, a wrong one, or a read-only session asked to change things."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def facade(request: Request) -> Mailferry:
    found = request.app.state.mailferry
    assert isinstance(found, Mailferry)
    return found


def sessions(request: Request) -> SessionStore:
    found = request.app.state.console_sessions
    assert isinstance(found, SessionStore)
    return found


def wants_html(request: Request) -> bool:
    return (
        "text/html" in request.headers.get("accept", "")
        and request.headers.get("x-requested-with") is None
    )


def current_session(request: Request) -> Session:
    """The request's live session (checked again against the database now and then)."""
    store = sessions(request)
    found = store.get(request.cookies.get(COOKIE))
    if found is not None and store.due_for_check(found) and not _still_valid(request, found):
        store.end(found.id)
        found = None
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target, wants_html(request))
    return found


def _still_valid(request: Request, session: Session) -> bool:
    app = facade(request)
    if session.kind == "token":
        return session.secret is not None and app.tokens.check(session.secret) is not None
    return app.admins.get(session.who) is not None


async def action_form(
    request: Request, session: Annotated[Session, Depends(current_session)]
) -> FormData:
    """A POST's form, once its CSRF token matched and the session may change things."""
    form = await request.form()
    given = form.get("csrf")
    if not session.csrf_matches(given if isinstance(given, str) else None):
        raise Refused("the form's security token is missing or wrong; reload the page and retry")
    if session.read_only:
        raise Refused(f"the token {session.who!r} is read-only: it cannot change anything")
    return form


def signin_url(next_path: str) -> str:
    return "/signin?next=" + quote(next_path, safe="/")


def safe_next(value: Any) -> str:
    """Only a path of this site (``/x``, not ``//host`` or ``http://...``)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return "/batches"
    return "/batches" if any(c in value for c in "\\\r\n") else value


SessionDep = Annotated[Session, Depends(current_session)]
FormDep = Annotated[FormData, Depends(action_form)]
FacadeDep = Annotated[Mailferry, Depends(facade)]
