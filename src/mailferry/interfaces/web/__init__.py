"""The web console: server-rendered pages (Jinja2) over the same façade as the API.

``mount_console(api)`` adds the pages at ``/`` beside the REST API (``/api/v1``), the
static files at ``/static``, and the handlers that send a browser without a session to
``/signin`` (401 for anything else) and answer a refused form with 403. It has no logic
of its own: every page reads façade views, every action calls a façade method. See
``docs/console.md``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mailferry.interfaces.web import pages_batches as pages_batches
from mailferry.interfaces.web import pages_endpoints as pages_endpoints
from mailferry.interfaces.web import pages_new_batch as pages_new_batch
from mailferry.interfaces.web import pages_signin as pages_signin
from mailferry.interfaces.web import pages_users as pages_users
from mailferry.interfaces.web.guard import Refused, SignInNeeded, signin_url
from mailferry.interfaces.web.render import HERE, page
from mailferry.interfaces.web.sessions import SessionStore

ROUTERS = (pages_signin, pages_new_batch, pages_batches, pages_users, pages_endpoints)


def mount_console(api: FastAPI, *, store: SessionStore | None = None) -> None:
    api.state.console_sessions = store or SessionStore()
    for module in ROUTERS:
        api.include_router(module.router, include_in_schema=False)
    api.add_api_route("/", _home, methods=["GET"], include_in_schema=False)
    api.mount("/static", StaticFiles(directory=HERE / "static"), name="console-static")
    api.add_exception_handler(SignInNeeded, _sign_in_needed)
    api.add_exception_handler(Refused, _refused)


def _home() -> Response:
    return RedirectResponse("/batches", status_code=303)


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    if exc.html:
        return RedirectResponse(signin_url(exc.next_path), status_code=303)
    return HTMLResponse(
        "401: sign in first", status_code=401, headers={"WWW-Authenticate": "Session"}
    )


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return page(request, "refused.html", None, 403, reason=exc.reason)
