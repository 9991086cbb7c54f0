"""The one-shot migration: every CSV user from a source to a target, concurrently.

The use case behind ``mailferry migrate``. Users run at most
``max_concurrent`` at a time; a failing user fails alone with its reason and
never stops the others; a throttled or disconnected one is retried as the service
retries it (``oneshot.retry``). Each attempt goes the batch job's way into the engine
(``jobs.mailbox_sync``: the same sessions, sync and judgement). Running it again with
the same state database is an incremental sync (the engine copies only what is new
and carries flag changes).
With ``processes`` > 1 the users run in worker processes (``oneshot.processes``)
so their CPU spreads over the cores; the callbacks still run here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailferry.engine.folder_types import FolderOptions
from mailferry.errors import MailferryError
from mailferry.service.jobs.mailbox_sync import (
    Judgement,
    MailboxSync,
    judge,
    sync_user_mailbox,
)
from mailferry.service.jobs.user_sessions import FixedPairs, UserSessions
from mailferry.service.migration_spec import SourceSpec, TargetSpec, mailbox_key
from mailferry.service.oneshot.retry import RetrySettings, UserRetries
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.values.progress import ProgressEvent, RetryWaiting
from mailferry.values.results import MailboxResult
from mailferry.values.sync_options import SyncOptions

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


@dataclass(frozen=True)
class MigrationRequest:
    """What to migrate and how (plain values: the interfaces validated them)."""

    source: SourceSpec
    target: TargetSpec
    users: tuple[MigrationUserRow, ...]
    state_url: str
    include_folders: tuple[str, ...] = ()
    exclude_folders: tuple[str, ...] = ()
    options: SyncOptions = field(default_factory=SyncOptions)
    max_concurrent: int = 4
    connections_per_mailbox: int = 2
    processes: int = 1
    """Worker processes for the users (1: all in this process). More than one needs a
    picklable request and ``describe`` and a state database other processes can open."""
    retry: RetrySettings = field(default_factory=RetrySettings)


@dataclass(frozen=True)
class UserOutcome:
    """One user's run: ``result`` when it synced, ``error`` (words) when it failed."""

    row: MigrationUserRow
    started_at: dt.datetime
    duration: float
    result: MailboxResult | None = None
    error: str | None = None
    error_kind: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def judgement(self) -> Judgement:
        """The batch job's judgement of the same outcome (``jobs.mailbox_sync.judge``)."""
        return judge(self.result, self.error, self.error_kind)

    @property
    def status(self) -> str:
        """Synced only when every source message in scope is copied or skipped with a
        reason; Incomplete when the sync ran but left folders or messages behind."""
        return self.judgement.verdict.value


MigrationEvent = ProgressEvent | RetryWaiting
UserEvent = Callable[[MigrationUserRow, MigrationEvent], None]
UserDone = Callable[[UserOutcome], None]


async def run_migration(
    request: MigrationRequest,
    *,
    on_event: UserEvent | None = None,
    on_user_done: UserDone | None = None,
    describe: Callable[[MailferryError], str] = str,
) -> list[UserOutcome]:
    """Migrate every user; outcomes in CSV order.

    The callbacks are always called in this process (and thread), whether users run
    here or in worker processes (``request.processes``; see ``oneshot.processes``).
    """
    count = worker_count(request)
    if count > 1:
        from mailferry.service.oneshot.processes import run_in_processes

        return await run_in_processes(
            request, count, on_event=on_event, on_user_done=on_user_done, describe=describe
        )
    from mailferry.state.store import StateStore  # SQLAlchemy: not for --help

    state = StateStore.open(request.state_url)
    slots = asyncio.Semaphore(max(1, request.max_concurrent))

    async def one(row: MigrationUserRow) -> UserOutcome:
        async with slots:
            outcome = await migrate_user(request, state, row, on_event, describe)
        if on_user_done is not None:
            on_user_done(outcome)
        return outcome

    try:
        return list(await asyncio.gather(*(one(row) for row in request.users)))
    finally:
        state.close()


def worker_count(request: MigrationRequest) -> int:
    """Processes worth starting: no more than users, nor than users allowed at once;
    1 (this process) for an in-memory database, which no other process can see."""
    if _in_memory(request.state_url):
        return 1
    return max(1, min(request.processes, len(request.users), request.max_concurrent))


def _in_memory(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:  # StateStore.open says what is wrong with it
        return False
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


async def migrate_user(
    request: MigrationRequest,
    state: StateStore,
    row: MigrationUserRow,
    on_event: UserEvent | None,
    describe: Callable[[MailferryError], str],
) -> UserOutcome:
    """One user, start to end, in this process: the call every mode makes per user.

    Each attempt is the batch job's (``jobs.mailbox_sync``). A transient error
    (throttled, BYE, connection lost…) is retried as the service retries it
    (``oneshot.retry``); each wait is announced as a ``RetryWaiting`` event.
    """
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    progress = (lambda event: on_event(row, event)) if on_event else None
    retries = UserRetries(request.retry, describe, progress)
    sync = MailboxSync(
        mailbox_key(request.source, request.target, row),
        FolderOptions(
            user_root=row.user_root,
            include=request.include_folders,
            exclude=request.exclude_folders,
        ),
        request.options,
    )

    def sessions() -> UserSessions:
        pairs = FixedPairs(request.connections_per_mailbox)
        return UserSessions(request.source, request.target, row, pairs)

    outcome = await retries.run(lambda: sync_user_mailbox(sessions, state, sync, progress=progress))
    duration = time.monotonic() - started
    if outcome.error is not None:
        return UserOutcome(
            row, started_at, duration,
            error=retries.words(outcome.error), error_kind=type(outcome.error).__name__,
        )  # fmt: skip
    return UserOutcome(row, started_at, duration, result=outcome.result)
