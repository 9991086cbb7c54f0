"""Request body size caps, enforced before a route parses anything.

A CSV upload (``multipart/form-data`` or ``text/csv``) may be up to ``upload_max`` bytes
(the CSV reader has its own, smaller cap and names it in its error); every other body
(JSON) up to ``json_max``. A declared ``Content-Length`` over the cap is refused at once;
a chunked body is counted as it arrives and refused when it passes the cap. Either way
the answer is 413 with code ``too_large``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailferry.interfaces.http.handlers import error_response

UPLOAD_MAX = 20 * 2**20
JSON_MAX = 1 * 2**20
_UPLOAD_TYPES = ("multipart/form-data", "text/csv")


class BodyLimit:
    """ASGI middleware: refuse request bodies over the cap for their content type."""

    def __init__(self, app: ASGIApp, *, upload_max: int = UPLOAD_MAX, json_max: int = JSON_MAX):
        self.app = app
        self.upload_max = upload_max
        self.json_max = json_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        limit = self.upload_max if content_type in _UPLOAD_TYPES else self.json_max
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(limit)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def too_large(limit: int) -> ASGIApp:
    """The 413 response, as an ASGI app."""
    return error_response(
        413, "too_large", f"the request body is over the limit of {limit:,} bytes", limit=limit
    )


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # FastAPI and Starlette pass an HTTPException from body parsing through,
                # and the handler for it writes the same 413 body as above
                raise HTTPException(413, f"the request body is over the limit of {limit:,} bytes")
        return message

    return counted
