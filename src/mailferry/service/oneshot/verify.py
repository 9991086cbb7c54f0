"""Verification of every CSV user: source against target, concurrently.

The use case behind ``mailferry verify``. Users run at most ``max_concurrent``
at a time; a user that can't be verified (login refused, connection lost...)
gets its reason and never stops the others. Nothing is written to either side
and no state database is needed: the verifier compares the stores themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.planner import SyncOptions
from mailferry.engine.verify import verify_mailbox
from mailferry.engine.verify_report import VerifyReport
from mailferry.errors import MailferryError
from mailferry.service.migration_spec import SourceSpec, TargetSpec, open_source, open_target
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.stores.base import SourceMailbox, TargetMailbox


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
    started = time.monotonic()
    source: SourceMailbox | None = None
    target: TargetMailbox | None = None
    try:
        source = await open_source(request.source, row)
        target = await open_target(request.target, row)
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
        for store in (source, target):
            if store is not None:
                with contextlib.suppress(MailferryError, OSError):
                    await store.close()
    return UserVerification(row, time.monotonic() - started, report=report)
