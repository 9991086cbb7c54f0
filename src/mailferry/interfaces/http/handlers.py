"""Every error the API answers with has one body: ``{"code", "message", "details"}``.

- a ``MailferryError``: status and body from ``error_map.http_error`` (one mapper);
- FastAPI's request validation: 422 ``invalid_request``, one entry per problem (where
  and what, never the value sent: it may be a password);
- an ``HTTPException`` (unknown path, wrong method, a body over the cap, auth): its
  status with a code named after it; a ``detail`` that already is such a body (auth)
  is kept as it is;
- anything else: ``http_error`` too (500 ``internal``, no internals; the traceback
  goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailferry.errors import MailferryError
from mailferry.interfaces.http.error_map import http_error

log = logging.getLogger("mailferry.http")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **details: Any
) -> JSONResponse:
    return JSONResponse(error_body(code, message, **details), status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MailferryError, _mailferry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_middleware(InternalErrors)


async def _mailferry_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MailferryError)
    status, body = http_error(exc)
    return JSONResponse(body, status)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    words = "; ".join(f"{p['location']}: {p['message']}" for p in problems[:10])
    return error_response(
        422, "invalid_request", f"the request is not valid: {words}", problems=problems
    )


def _problem(error: Mapping[str, Any]) -> dict[str, str]:
    location: Sequence[object] = error.get("loc", ())
    return {
        "location": ".".join(str(part) for part in location),
        "message": str(error.get("msg", "invalid")),
        "type": str(error.get("type", "invalid")),
    }


async def _http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    detail = exc.detail
    if isinstance(detail, Mapping) and "code" in detail:
        body = error_body(str(detail["code"]), str(detail.get("message", "")))
        body["details"] = dict(detail.get("details") or {})
        return JSONResponse(body, exc.status_code, headers=headers)
    code = STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = detail if isinstance(detail, str) and detail else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers)


class InternalErrors:
    """ASGI middleware: an exception nothing handled becomes 500 ``internal``.

    Starlette's own last-resort handler answers too, but re-raises, so every server
    would log it twice; here it is logged once and answered with the stable body (or,
    when the response had already started, the stream ends there: the client sees a
    truncated body, never a traceback)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            what = (type(exc).__name__, scope["method"], scope["path"])
            log.error("unexpected %s in %s %s", *what, exc_info=exc)
            if not started:
                status, body = http_error(exc)
                await JSONResponse(body, status)(scope, receive, send)
