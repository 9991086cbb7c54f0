"""The one-shot migration: every CSV user from a source to a target, concurrently.

The use case behind ``mailferry migrate``. Users run at most
``max_concurrent`` at a time; a failing user fails alone with its reason and
never stops the others; a throttled or disconnected one is retried as the service
retries it (``migrate_retry``). Running it again with the same state database is an
incremental sync (the engine copies only what is new and carries flag changes).
With ``processes`` > 1 the users run in worker processes (``migrate_processes``)
so their CPU spreads over the cores; the callbacks still run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.planner import SyncOptions
from mailferry.engine.progress import ProgressEvent
from mailferry.engine.results import MailboxResult
from mailferry.engine.sync import sync_mailbox
from mailferry.errors import MailferryError
from mailferry.service.migration_spec import (
    SourceSpec,
    TargetSpec,
    mailbox_key,
    open_pair,
    open_source,
    open_target,
)
from mailferry.service.oneshot.retry import RetrySettings, RetryWaiting, UserRetries
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.stores.base import SourceMailbox, TargetMailbox

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
    def status(self) -> str:
        """Synced only when every source message in scope is copied or skipped with a
        reason; Incomplete when the sync ran but left folders or messages behind."""
        if self.result is None or self.error is not None:
            return "Failed"
        return "Synced" if self.result.complete else "Incomplete"


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
    here or in worker processes (``request.processes``; see ``migrate_processes``).
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

    A transient error (throttled, BYE, connection lost…) is retried as the service
    retries it (``migrate_retry``); each wait is announced as a ``RetryWaiting`` event.
    """
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    waiting = (lambda event: on_event(row, event)) if on_event else None
    retries = UserRetries(request.retry, describe, waiting)
    try:
        result = await retries.run(lambda: _sync_user(request, state, row, on_event))
    except MailferryError as error:
        return UserOutcome(
            row, started_at, time.monotonic() - started,
            error=retries.words(error), error_kind=type(error).__name__,
        )  # fmt: skip
    return UserOutcome(row, started_at, time.monotonic() - started, result=result)


async def _sync_user(
    request: MigrationRequest,
    state: StateStore,
    row: MigrationUserRow,
    on_event: UserEvent | None,
) -> MailboxResult:
    """One attempt: open both sides, sync, close them whatever happened."""
    source: SourceMailbox | None = None
    target: TargetMailbox | None = None
    try:
        source = await open_source(request.source, row)
        target = await open_target(request.target, row)
        return await sync_mailbox(
            source,
            target,
            state,
            mailbox_key(request.source, request.target, row),
            folder_options=FolderOptions(
                user_root=row.user_root,
                include=request.include_folders,
                exclude=request.exclude_folders,
            ),
            options=request.options,
            progress=(lambda event: on_event(row, event)) if on_event else None,
            target_layout=request.target.layout,
            more_sessions=lambda: open_pair(request.source, request.target, row),
            connections=request.connections_per_mailbox,
        )
    finally:
        for store in (source, target):
            if store is not None:
                with contextlib.suppress(MailferryError, OSError):
                    await store.close()
