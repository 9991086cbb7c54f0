"""Sign-in (an API token, or an administrator's name and password) and sign-out.

The sign-in form has its own CSRF token (a random value in a SameSite=Strict cookie and
in the form, which must match), so no other site can sign a browser in. Failed
attempts count against the same per-address budget as the API's bearer tokens
(``interfaces.http.auth``): 429 once it is spent.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mailferry.app import Mailferry
from mailferry.interfaces.http.auth import limiter_of
from mailferry.interfaces.web.guard import (
    COOKIE,
    SIGNIN_COOKIE,
    FacadeDep,
    safe_next,
    sessions,
)
from mailferry.interfaces.web.render import page
from mailferry.interfaces.web.sessions import (
    IDLE_SECONDS,
    MAX_AGE_SECONDS,
    Session,
    SessionStore,
)

router = APIRouter()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _signin_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "signin.html",
        None,
        status,
        signin_csrf=token,
        next=safe_next(request.query_params.get("next")),
        error=error,
    )
    response.set_cookie(
        SIGNIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
        path="/signin", max_age=3600,
    )  # fmt: skip
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> Response:
    return _signin_form(request)


@router.post("/signin")
def signin(
    request: Request,
    app: FacadeDep,
    csrf: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "token",
    token: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/batches",
) -> Response:
    cookie = request.cookies.get(SIGNIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf.encode()):
        return _signin_form(request, "The sign-in form expired; please try again.", 403)
    limiter = limiter_of(request)
    client = request.client.host if request.client is not None else "unknown"
    wait = limiter.retry_after(client)
    if wait is not None:
        return _signin_form(request, f"Too many failed attempts; try again in {wait} s.", 429)
    session = _check(app, sessions(request), method, token.strip(), name.strip(), password)
    if session is None:
        limiter.failed(client)
        return _signin_form(request, "That did not sign you in: check what you typed.", 401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, session.id, httponly=True, samesite="strict", secure=_secure(request),
        max_age=int(min(IDLE_SECONDS * 6, MAX_AGE_SECONDS)),
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


def _check(
    app: Mailferry, store: SessionStore, method: str, token: str, name: str, password: str
) -> Session | None:
    if method == "password":
        admin = app.admins.check(name, password) if name and password else None
        if admin is None:
            return None
        return store.new(str(admin["Name"]), "admin", read_only=False)
    view = app.tokens.check(token) if token else None
    if view is None:
        return None
    return store.new(str(view["Name"]), "token", read_only=bool(view["ReadOnly"]), secret=token)


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Ends the session (its CSRF token is needed: no other site can sign you out)."""
    store = sessions(request)
    found = store.get(request.cookies.get(COOKIE))
    form = await request.form()
    given = form.get("csrf")
    if found is not None and found.csrf_matches(given if isinstance(given, str) else None):
        store.end(found.id)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE)
        return response
    if found is None:
        return RedirectResponse("/signin", status_code=303)
    return HTMLResponse("403: the form's security token is missing or wrong", status_code=403)
