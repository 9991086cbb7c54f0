"""Verification of every CSV user: source against target, concurrently.

The use case behind ``mailferry verify``. Users run at most ``max_concurrent``
at a time; a user that can't be verified (login refused, connection lost...)
gets its reason and never stops the others. Nothing is written to either side
and no state database is needed: the verifier compares the stores themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.verify import verify_mailbox
from mailferry.errors import MailferryError
from mailferry.service.jobs.user_sessions import UserSessions
from mailferry.service.migration_spec import SourceSpec, TargetSpec
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.values.sync_options import SyncOptions
from mailferry.values.verify_report import VerifyReport


@dataclass(frozen=True)
class VerifyRequest:
    """What to verify, with the same folder rules and limits the migration used."""

    source: SourceSpec
    target: TargetSpec
    users: tuple[MigrationUserRow, ...]
    include_folders: tuple[str, ...] = ()
    exclude_folders: tuple[str, ...] = ()
    options: SyncOptions = field(default_factory=SyncOptions)
    max_concurrent: int = 4


@dataclass(frozen=True)
class UserVerification:
    """One user's check: ``report`` when it ran, ``error`` (words) when it could not."""

    row: MigrationUserRow
    duration: float
    report: VerifyReport | None = None
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok


UserDone = Callable[[UserVerification], None]


async def run_verification(
    request: VerifyRequest,
    *,
    on_user_done: UserDone | None = None,
    describe: Callable[[MailferryError], str] = str,
) -> list[UserVerification]:
    """Verify every user; results in CSV order."""
    slots = asyncio.Semaphore(max(1, request.max_concurrent))

    async def one(row: MigrationUserRow) -> UserVerification:
        async with slots:
            outcome = await _verify_user(request, row, describe)
        if on_user_done is not None:
            on_user_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(row) for row in request.users)))


async def _verify_user(
    request: VerifyRequest, row: MigrationUserRow, describe: Callable[[MailferryError], str]
) -> UserVerification:
    """One user's check over the sessions every job opens (``jobs.user_sessions``)."""
    started = time.monotonic()
    sessions = UserSessions(request.source, request.target, row)
    try:
        source, target = await sessions.open()
        report = await verify_mailbox(
            source,
            target,
            folder_options=FolderOptions(
                user_root=row.user_root,
                include=request.include_folders,
                exclude=request.exclude_folders,
            ),
            options=request.options,
            target_layout=request.target.layout,
        )
    except MailferryError as error:
        return UserVerification(
            row, time.monotonic() - started, error=describe(error), error_kind=type(error).__name__
        )
    finally:
        await sessions.close()
    return UserVerification(row, time.monotonic() - started, report=report)
