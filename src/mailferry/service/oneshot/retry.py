"""The one-shot ``migrate``'s retries of one user: the service's policy, in the foreground.

A user whose attempt ends in an error the service would retry (``NO [THROTTLED]``,
Exchange's "Request is throttled. Suggested Backoff Time", a BYE, a dropped
connection, a refused connection…) waits as ``retry_policy.retry_delay`` says (the
server's suggested time when it gave one, else exponential backoff) and runs again;
the engine's state makes a re-run exact (nothing copied twice). After
``max_attempts`` failed attempts in a row, or at the first error that is not worth
retrying, the user fails with the last error's reason. The attempts themselves are the
batch job's (``jobs.mailbox_sync``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mailferry.errors import MailferryError
from mailferry.service.jobs.mailbox_sync import RetrySettings, SyncOutcome
from mailferry.values.progress import RetryWaiting

__all__ = ["RetrySettings", "RetryWaiting", "UserRetries"]


class UserRetries:
    """Runs one user's attempts; ``failed_attempts`` counts those that ended in an error.

    Whether and when to try again is the batch job's rule (``SyncOutcome.retry_after``);
    only the waiting is this one's: here, in the foreground, instead of in the queue."""

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

    async def run(self, attempt: Callable[[], Awaitable[SyncOutcome]]) -> SyncOutcome:
        """The first outcome without an error, or the last one when retrying is over."""
        settings = self.settings
        while True:
            outcome = await attempt()
            if outcome.error is None:
                return outcome
            self.failed_attempts += 1
            delay = outcome.retry_after(self.failed_attempts, settings)
            if delay is None:
                return outcome
            if self.on_wait is not None:
                error = outcome.error
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
