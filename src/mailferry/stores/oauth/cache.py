"""Access tokens cached per mailbox, renewed before they expire, one request at a time.

``CachedTokenProvider`` is the ``TokenProvider`` every OAuth2 provider is: it asks its
``TokenSource`` (Entra, Google, a refresh-token grant) for a token when the mailbox has
none, or when the one it has comes within ``margin`` seconds of its end (a quarter of
its life at most, so a short-lived token is not renewed at every login). Concurrent
logins of one mailbox (parallel folders) share one request: the first starts it, the
others await the same task, shielded so that one caller's cancellation does not cancel
it for the rest. ``invalidate`` drops a token the server refused, so the next login
gets a fresh one (``renewal`` decides when). Tokens never reach a log, a ``repr`` or an
error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

DEFAULT_MARGIN: Final = 300.0
"""Seconds before expiry a token is renewed (Entra and Google tokens live ~3600 s)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Grant:
    """One token endpoint answer: the access token and how many seconds it lives."""

    access_token: str = field(repr=False)
    expires_in: float


class TokenSource(Protocol):
    """Asks a token endpoint for one mailbox's token. ``forced``: the last token was
    refused by the server, so a library's own cache must not hand it out again."""

    async def fetch(self, user: str, *, forced: bool) -> Grant: ...


@dataclass(frozen=True)
class IssuedToken:
    access_token: str = field(repr=False)
    received: float  # the clock when it was asked for: its life counts from then
    lifetime: float

    def renew_at(self, margin: float) -> float:
        return self.received + self.lifetime - min(margin, self.lifetime / 4)


class CachedTokenProvider:
    """A ``TokenProvider`` (``token(user)``) over a ``TokenSource``; ``requests`` counts
    the token requests made (those answered and those that failed)."""

    def __init__(
        self,
        source: TokenSource,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.margin = margin
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}
        self._refused: set[str] = set()
        self._pending: dict[str, asyncio.Task[IssuedToken]] = {}
        self.requests = 0

    def __repr__(self) -> str:
        return f"CachedTokenProvider({type(self.source).__name__}, mailboxes={len(self._tokens)})"

    async def token(self, user: str) -> str:
        """The mailbox's token: the cached one until its renewal time, else a fresh one."""
        key = user.casefold()
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached.renew_at(self.margin):
            return cached.access_token
        return (await self._refresh(key, user)).access_token

    def invalidate(self, user: str, token: str | None = None) -> None:
        """The server refused the mailbox's token (``token``, or whichever is cached):
        forget it, so the next ``token`` asks the endpoint, past any library cache. A
        token already replaced by a newer one is left alone."""
        key = user.casefold()
        cached = self._tokens.get(key)
        if cached is not None and token is not None and cached.access_token != token:
            return
        self._tokens.pop(key, None)
        self._refused.add(key)

    def expires_in(self, user: str) -> float | None:
        """Seconds the mailbox's cached token has left (None: none cached)."""
        cached = self._tokens.get(user.casefold())
        return None if cached is None else cached.received + cached.lifetime - self._clock()

    async def _refresh(self, key: str, user: str) -> IssuedToken:
        loop = asyncio.get_running_loop()
        task = self._pending.get(key)
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._fetch(key, user))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._forget_pending(key, done))
        return await asyncio.shield(task)

    def _forget_pending(self, key: str, task: asyncio.Task[IssuedToken]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure no caller awaited is not logged as lost

    async def _fetch(self, key: str, user: str) -> IssuedToken:
        forced = key in self._refused
        started = self._clock()
        self.requests += 1
        grant = await self.source.fetch(user, forced=forced)
        issued = IssuedToken(grant.access_token, started, max(0.0, float(grant.expires_in)))
        self._tokens[key] = issued
        self._refused.discard(key)
        log.debug("OAuth2 token for %s: %.0f s to live (forced: %s)", user, issued.lifetime, forced)
        return issued
