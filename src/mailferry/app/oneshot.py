"""The one-shot runs: ``migrate`` (every CSV user from a source to a target, in the
foreground, its own state file) and ``verify`` (compare source and target).

Neither needs the service's database, so both are module functions too (``migrate``
and ``verify`` here, called by the CLI without opening one); the façade's methods of
the same names call them with its environment and words. Requests come as text and
bytes (``MigrationRequest``, ``VerifyRequest``) and are parsed here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailferry.app.core import AppCore, Describe
from mailferry.app.requests import MigrationRequest, VerifyRequest

if TYPE_CHECKING:
    from mailferry.service.oneshot import migrate as oneshot_migrate
    from mailferry.service.oneshot.migrate import UserOutcome as UserOutcome
    from mailferry.service.oneshot.verify import UserVerification as UserVerification
    from mailferry.values.sync_options import SyncOptions

OnEvent = Callable[[str, object], None]
"""(the user's address, a progress event: ``mailferry.values.progress``)."""


@dataclass(frozen=True)
class MigrationRun:
    """What ``migrate`` did: each user's outcome (CSV order) and the sides' names."""

    outcomes: list[UserOutcome]
    source: str
    target: str
    dry_run: bool
    content_filter: str | None
    _request: oneshot_migrate.MigrationRequest = field(repr=False)

    @property
    def ok(self) -> bool:
        """Every user synced (nothing failed, nothing left behind)."""
        return all(o.status == "Synced" for o in self.outcomes)

    def report(self) -> dict[str, Any]:
        """The JSON report: per user its folders, counts, skipped items and errors."""
        from mailferry.service.oneshot.report import migration_report

        return migration_report(self._request, self.outcomes)


@dataclass(frozen=True)
class VerificationRun:
    outcomes: list[UserVerification]
    source: str
    target: str

    @property
    def ok(self) -> bool:
        return all(outcome.ok for outcome in self.outcomes)

    def report(self) -> dict[str, Any]:
        from mailferry.app.verify_report import verification_report

        return verification_report(self.outcomes, self.source, self.target)


def default_processes(users: int) -> int:
    """Half the CPUs this process may run on, at most one per user.

    Half, because the rest of the machine works too (the kernel's TCP and TLS, often
    a server): on 2 cores with both Dovecots local, 2 workers were slower than one
    (bench small corpus 5.3 s vs 4.75 s; each spawned worker also imports ~0.8 CPU-s).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return max(1, min(cpus // 2, users))


async def migrate(
    req: MigrationRequest,
    env: Mapping[str, str],
    *,
    on_event: OnEvent | None = None,
    on_user_done: Callable[[UserOutcome], None] | None = None,
    describe: Describe = str,
) -> MigrationRun:
    """Migrate every user (``max_concurrent`` at once, in ``processes`` workers); one
    failing user never stops the others. Bad input raises before anything runs."""
    from mailferry.service.oneshot.migrate import run_migration

    request = migration_request(req, env)
    events = None if on_event is None else _by_address(on_event)
    outcomes = await run_migration(
        request, on_event=events, on_user_done=on_user_done, describe=describe
    )
    window = request.options.received
    return MigrationRun(
        outcomes,
        request.source.describe(),
        request.target.describe(),
        request.options.dry_run,
        None if window is None else window.text(),
        request,
    )


async def verify(
    req: VerifyRequest, env: Mapping[str, str], *, describe: Describe = str
) -> VerificationRun:
    """Compare every user's folders: counts, bytes, flags, dates, names."""
    from mailferry.service.oneshot.verify import run_verification

    request = verify_request(req, env)
    outcomes = await run_verification(request, describe=describe)
    return VerificationRun(outcomes, request.source.describe(), request.target.describe())


def migration_request(
    req: MigrationRequest, env: Mapping[str, str]
) -> oneshot_migrate.MigrationRequest:
    """The service's request: sides opened from text, the CSV parsed, the state file
    found (``<home>/migrate/<hash>.db`` unless given)."""
    from mailferry.app.settings import mailferry_home
    from mailferry.app.targets import source_spec, target_spec
    from mailferry.service.oneshot.migrate import MigrationRequest as Request
    from mailferry.service.oneshot.retry import RetrySettings
    from mailferry.service.oneshot.state_file import default_state_path

    source, target = source_spec(req.source), target_spec(req.target, env)
    rows = _users(req.csv_data, req.csv_name)
    options = _options(
        req.content_filter,
        max_message_size=req.max_message_size,
        max_items=req.max_items,
        include_deleted=req.include_deleted,
        propagate_deletions=req.propagate_deletions,
        dry_run=req.dry_run,
        source_kind=req.source_kind,
        gmail_labels=req.gmail_labels,
    )
    home = mailferry_home(env)
    state = Path(req.state_path) if req.state_path else default_state_path(home, source, target)
    base = req.retry_base_seconds
    return Request(
        source=source,
        target=target,
        users=rows,
        state_url=f"sqlite:///{state.resolve()}",
        include_folders=req.include_folders,
        exclude_folders=req.exclude_folders,
        options=options,
        max_concurrent=req.max_concurrent,
        connections_per_mailbox=req.connections_per_mailbox,
        processes=req.processes or default_processes(len(rows)),
        retry=RetrySettings(req.max_attempts, base, min_seconds=min(1.0, base)),
    )


def verify_request(req: VerifyRequest, env: Mapping[str, str]) -> Any:
    from mailferry.app.targets import source_spec, target_spec
    from mailferry.service.oneshot.verify import VerifyRequest as Request

    options = _options(
        req.content_filter,
        max_message_size=req.max_message_size,
        max_items=req.max_items,
        include_deleted=req.include_deleted,
        source_kind=req.source_kind,
        gmail_labels=req.gmail_labels,
    )
    return Request(
        source=source_spec(req.source),
        target=target_spec(req.target, env),
        users=_users(req.csv_data, req.csv_name),
        include_folders=req.include_folders,
        exclude_folders=req.exclude_folders,
        options=options,
        max_concurrent=req.max_concurrent,
    )


class OneShotUseCases(AppCore):
    async def migrate(
        self,
        req: MigrationRequest,
        on_event: OnEvent | None = None,
        *,
        on_user_done: Callable[[UserOutcome], None] | None = None,
    ) -> MigrationRun:
        """``oneshot.migrate`` with this façade's environment and words."""
        return await migrate(
            req, self._env, on_event=on_event, on_user_done=on_user_done, describe=self._describe
        )

    async def verify(self, req: VerifyRequest) -> VerificationRun:
        return await verify(req, self._env, describe=self._describe)


def _users(data: bytes, name: str) -> Any:
    from mailferry.service.users_csv.parse import parse_users_csv

    return parse_users_csv(data, source_name=name)


def _options(content_filter: str | None, **limits: Any) -> SyncOptions:
    from mailferry.values.content_filter import parse_content_filter
    from mailferry.values.sync_options import SyncOptions

    window = None if content_filter is None else parse_content_filter(content_filter)
    return SyncOptions(received=window, **limits)


def _by_address(on_event: OnEvent) -> Any:
    def forward(row: Any, event: object) -> None:
        on_event(row.email_address, event)

    return forward
