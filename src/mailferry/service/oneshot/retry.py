"""The one-shot ``migrate``'s retries of one user: the service's policy, in the foreground.

A user whose attempt ends in an error the service would retry (``NO [THROTTLED]``,
Exchange's "Request is throttled. Suggested Backoff Time", a BYE, a dropped
connection, a refused connection…) waits as ``retry_policy.retry_delay`` says (the
server's suggested time when it gave one, else exponential backoff) and runs again;
the engine's state makes a re-run exact (nothing copied twice). After
``max_attempts`` failed attempts in a row, or at the first error that is not worth
retrying, the user fails with the last error's reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mailferry.errors import MailferryError
from mailferry.service.jobs.retry_policy import retry_delay

T = TypeVar("T")


@dataclass(frozen=True)
class RetrySettings:
    """How often and how long a user is retried (defaults: the service's, see
    ``ServiceSettings``). ``min_seconds``: the least wait, even when the server
    suggests less."""

    max_attempts: int = 5
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    min_seconds: float = 1.0


@dataclass(frozen=True)
class RetryWaiting:
    """A user's attempt ``attempt`` (of at most ``max_attempts``) failed with ``reason``;
    the next one starts in ``seconds``. Handed to the progress callback."""

    attempt: int
    max_attempts: int
    seconds: float
    reason: str
    error_kind: str

    def text(self) -> str:
        """``waiting 2.0 s before attempt 2 of 5: <reason>`` (``10 ms`` under a second)."""
        wait = f"{self.seconds * 1000:.0f} ms" if self.seconds < 1 else f"{self.seconds:.1f} s"
        return f"waiting {wait} before attempt {self.attempt + 1} of {self.max_attempts}: " + (
            self.reason
        )


class UserRetries:
    """Runs one user's attempts; ``failed_attempts`` counts those that ended in an error."""

    def __init__(
        self,
        settings: RetrySettings,
        describe: Callable[[MailferryError], str],
        on_wait: Callable[[RetryWaiting], None] | None = None,
    ) -> None:
        self.settings = settings
        self.describe = describe
        self.on_wait = on_wait
        self.failed_attempts = 0

    async def run(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()``'s value; its last MailferryError when retrying is over."""
        settings = self.settings
        while True:
            try:
                return await attempt()
            except MailferryError as error:
                self.failed_attempts += 1
                delay = self._delay(error)
                if delay is None or self.failed_attempts >= settings.max_attempts:
                    raise
                if self.on_wait is not None:
                    waiting = RetryWaiting(
                        self.failed_attempts, settings.max_attempts, delay,
                        self.describe(error), type(error).__name__,
                    )  # fmt: skip
                    self.on_wait(waiting)
            await asyncio.sleep(delay)

    def words(self, error: MailferryError) -> str:
        """The reason the user failed, with the attempts it took when more than one."""
        words = self.describe(error)
        if self.failed_attempts > 1:
            return f"{words} (gave up after {self.failed_attempts} attempts)"
        return words

    def _delay(self, error: MailferryError) -> float | None:
        settings = self.settings
        return retry_delay(
            error,
            self.failed_attempts,
            base=settings.base_seconds,
            ceiling=settings.max_seconds,
            minimum=settings.min_seconds,
        )
