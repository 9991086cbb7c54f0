"""One user's mailbox sync: the one way from the service into the engine.

A batch's job (``user_job``) and the one-shot ``migrate`` (``oneshot.migrate``) both
call ``sync_user_mailbox``: open the user's sessions (``user_sessions.UserSessions``),
sync the mailbox (``engine.sync.sync_mailbox``), close the sessions whatever happened,
and hand back a ``SyncOutcome``. Both judge it by one rule (``judge``): Synced only when
every source message in scope is copied or skipped with a reason
(docs/design/completeness.md), Incomplete when the sync ran to its end but left
folders or messages behind, Failed on an error; whether a failed attempt is worth
another, and after how long, is ``SyncOutcome.retry_after`` (``retry_policy``).

What differs stays with the callers: the batch job's claim, statuses, counters and
events (its retries wait in the queue); the one-shot's worker processes, retries in
place (``oneshot.retry``), progress events and report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.errors import MailferryError
from mailferry.service.jobs.retry_policy import retry_delay
from mailferry.service.jobs.user_sessions import UserSessions
from mailferry.service.statuses import INCOMPLETE_SYNC
from mailferry.stores.oauth.renewal import TokenRenewal
from mailferry.values.progress import ProgressEvent
from mailferry.values.results import MailboxResult
from mailferry.values.sync_options import SyncOptions

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


class Verdict(StrEnum):
    """What one sync of a user's mailbox amounts to (the one-shot shows these words)."""

    SYNCED = "Synced"
    INCOMPLETE = "Incomplete"
    FAILED = "Failed"


@dataclass(frozen=True)
class Judgement:
    """``reason``: why the user is not Synced (the error's words, or each folder left
    behind and why); ``error_kind``: the error's class name, or ``IncompleteSync``."""

    verdict: Verdict
    reason: str | None = None
    error_kind: str | None = None


def judge(
    result: MailboxResult | None, error: str | None = None, error_kind: str | None = None
) -> Judgement:
    """The one rule: an error (its words given) fails the user; a sync that ran to its
    end is Synced only when complete."""
    if error is not None or result is None:
        return Judgement(Verdict.FAILED, error, error_kind)
    if result.complete:
        return Judgement(Verdict.SYNCED)
    return Judgement(Verdict.INCOMPLETE, result.incomplete_reason(), INCOMPLETE_SYNC)


@dataclass(frozen=True)
class RetrySettings:
    """How often and how long a failed user is retried (defaults: the service's, see
    ``ServiceSettings``). ``min_seconds``: the least wait, even when the server
    suggests less."""

    max_attempts: int = 5
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    min_seconds: float = 1.0


@dataclass(frozen=True)
class MailboxSync:
    """What to sync of one user: its migration's key in the state, its folders, the
    engine's options."""

    mailbox_key: str
    folders: FolderOptions
    options: SyncOptions = field(default_factory=SyncOptions)


@dataclass(frozen=True)
class SyncOutcome:
    """One attempt: ``result`` when the sync ran to its end, else the ``error`` that
    stopped it (opening the sessions included)."""

    result: MailboxResult | None = None
    error: MailferryError | None = None

    def judge(self, describe: Callable[[MailferryError], str] = str) -> Judgement:
        if self.error is not None:
            return judge(None, describe(self.error), type(self.error).__name__)
        return judge(self.result)

    def retry_after(self, attempts: int, retry: RetrySettings) -> float | None:
        """Seconds to wait before another attempt, after ``attempts`` failed ones in a
        row (this one included); None when the user fails now (no error, an error not
        worth retrying, or no attempts left)."""
        if self.error is None or attempts >= retry.max_attempts:
            return None
        return retry_delay(
            self.error,
            attempts,
            base=retry.base_seconds,
            ceiling=retry.max_seconds,
            minimum=retry.min_seconds,
        )


Progress = Callable[[ProgressEvent], None]


async def sync_user_mailbox(
    sessions: Callable[[], UserSessions],
    state: StateStore,
    sync: MailboxSync,
    *,
    progress: Progress | None = None,
    on_open: Callable[[], None] | None = None,
) -> SyncOutcome:
    """Open the user's sessions (``sessions()`` builds them), sync, close them whatever
    happened. ``on_open`` runs once both sides accepted the logins (the validation
    step), before anything is copied. A MailferryError becomes the outcome's error;
    a cancellation propagates (the sessions closed). An attempt the target stopped by
    refusing its OAuth2 token runs again at once with a fresh one, boundedly
    (``stores.oauth.renewal``)."""
    renewal = TokenRenewal(on_open)
    while True:
        outcome, opened = await _sync_once(sessions, state, sync, renewal.watch(progress), renewal)
        if opened is None or not renewal.again(
            outcome.error, opened.target.login, opened.target.login_name(opened.row)
        ):
            return outcome


async def _sync_once(
    sessions: Callable[[], UserSessions],
    state: StateStore,
    sync: MailboxSync,
    progress: Progress,
    renewal: TokenRenewal,
) -> tuple[SyncOutcome, UserSessions | None]:
    opened: UserSessions | None = None
    try:
        opened = sessions()
        source, target = await opened.open()
        renewal.on_open()
        result = await sync_mailbox(
            source,
            target,
            state,
            sync.mailbox_key,
            folder_options=sync.folders,
            options=sync.options,
            progress=progress,
            target_layout=opened.target.layout,
            more_sessions=opened.open_more,
            connections=opened.connections,
        )
    except MailferryError as error:
        return SyncOutcome(error=error), opened
    finally:
        if opened is not None:
            await opened.close()
    return SyncOutcome(result=result), opened
