"""Bearer-token access to the API: ``read_access`` and ``write_access`` dependencies.

Every route depends on one of them (``Depends(read_access)`` for reads,
``Depends(write_access)`` for actions). Each reads ``Authorization: Bearer <token>``
and checks it with ``request.app.state.mailferry.tokens.check``:

- no token, a malformed header, an unknown, wrong or revoked token: 401 ``unauthorized``
  with ``WWW-Authenticate: Bearer``;
- a read-only token on an action: 403 ``forbidden``;
- an address with ``max_failures`` failed attempts (a token presented and refused)
  within ``window`` seconds: 429 ``rate_limited`` with ``Retry-After`` for every request
  from it until the oldest of those failures leaves the window (a sliding window: at most
  ``max_failures`` guesses a minute). Memory is bounded: at most ``max_clients``
  addresses are remembered, the least recently failing forgotten first.

The address is the TCP peer's (``request.client``): the server does not trust
``X-Forwarded-For`` (see ``server``), so behind a reverse proxy every client shares the
proxy's address and budget. A missing token is not counted as an attempt.

The token is never logged, echoed or put in an error body. The dependencies are plain
functions: FastAPI runs them in its thread pool, so the check's database read (and the
at-most-once-a-minute LastUsed write) stays off the event loop. An app may set its own
limiter as ``app.state.auth_limiter`` (a ``FailureLimiter``); otherwise one with the
defaults is made on first use.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

from fastapi import Depends, HTTPException, Request

log = logging.getLogger("mailferry.http.auth")

MAX_FAILURES = 10
WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000
_REALM = 'Bearer realm="mailferry"'
_LIMITER_LOCK = threading.Lock()


class FailureLimiter:
    """Failed token attempts per client address, in a sliding window (thread-safe)."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again; None when it may now."""
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                return None
            age = self._clock() - times[0]
            if age >= self.window:
                if self._clock() - times[-1] >= self.window:
                    del self._failures[client]  # all old: forget the address
                return None
            if len(times) < self.max_failures:
                return None
            return max(1, math.ceil(self.window - age))

    def failed(self, client: str) -> None:
        with self._lock:
            times = self._failures.pop(client, None)
            if times is None:
                times = collections.deque(maxlen=self.max_failures)
            times.append(self._clock())
            self._failures[client] = times  # now the most recent
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
            blocked = len(times) == self.max_failures
        if blocked:
            log.warning(
                "client %s: %d failed token attempts within %g s; refused for a while",
                client,
                self.max_failures,
                self.window,
            )

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)


def read_access(request: Request) -> dict[str, Any]:
    """The token's view (``Name``, ``ReadOnly``…) for any valid token."""
    return _authenticated(request)


def write_access(request: Request) -> dict[str, Any]:
    """The token's view for a valid token that is not read-only (actions, changes)."""
    token = _authenticated(request)
    if token.get("ReadOnly", True):
        _refuse(
            403,
            "forbidden",
            f"the token {token.get('Name')!r} is read-only; this request changes something",
            'Bearer realm="mailferry", error="insufficient_scope"',
        )
    return token


ReadToken = Annotated[dict[str, Any], Depends(read_access)]
"""A route parameter ``token: ReadToken`` gets the token's view (any valid token)."""
WriteToken = Annotated[dict[str, Any], Depends(write_access)]
"""A route parameter ``token: WriteToken`` gets the view of a read-write token."""


def limiter_of(request: Request) -> FailureLimiter:
    state = request.app.state
    with _LIMITER_LOCK:
        found = getattr(state, "auth_limiter", None)
        if not isinstance(found, FailureLimiter):
            found = FailureLimiter()
            state.auth_limiter = found
    return found


def _authenticated(request: Request) -> dict[str, Any]:
    limiter = limiter_of(request)
    client = request.client.host if request.client is not None else "unknown"
    wait = limiter.retry_after(client)
    if wait is not None:
        _refuse(
            429,
            "rate_limited",
            f"too many failed token attempts from this address; try again in {wait} s",
            None,
            {"Retry-After": str(wait)},
            retry_after=wait,
        )
    header = request.headers.get("authorization")
    if header is None:
        _refuse(401, "unauthorized", "a bearer token is needed (Authorization: Bearer …)", _REALM)
    scheme, _, secret = header.strip().partition(" ")
    view = (
        request.app.state.mailferry.tokens.check(secret.strip())
        if scheme.lower() == "bearer" and secret.strip()
        else None
    )
    if view is None:
        limiter.failed(client)
        _refuse(
            401,
            "unauthorized",
            "the bearer token is not valid (unknown, revoked or malformed)",
            'Bearer realm="mailferry", error="invalid_token"',
        )
    assert isinstance(view, dict)
    return view


def _refuse(
    status: int,
    code: str,
    message: str,
    challenge: str | None,
    headers: dict[str, str] | None = None,
    **details: Any,
) -> NoReturn:
    """The error as an HTTPException whose detail is the API's error body (the app's
    handler answers it as it is)."""
    all_headers = dict(headers or {})
    if challenge is not None:
        all_headers["WWW-Authenticate"] = challenge
    body = {"code": code, "message": message, "details": details}
    raise HTTPException(status, detail=body, headers=all_headers)
