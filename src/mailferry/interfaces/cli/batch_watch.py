"""After a batch action: who does the work, and watching it when we do.

If a ``mailferry serve`` runs on the database, the action is only recorded and the
service carries it out. Otherwise (and unless ``--no-wait``) the scheduler runs here,
in the foreground, until the batches settle: a Rich live table of users on a terminal,
plain status-change lines on stderr when stdout is not one (so stdout keeps the
records a script reads).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mailferry.errors import MailferryError
from mailferry.interfaces.cli.safe_text import printable, rich_text
from mailferry.interfaces.cli.words import describe
from mailferry.service.context import ServiceContext
from mailferry.service.jobs.scheduler import run_in_process, service_running
from mailferry.service.properties import batch_properties
from mailferry.service.statuses import USER_FAILED, USER_RUNNING
from mailferry.state.migration_records import Batch, MigrationUser

EXIT_INTERRUPTED = 130
_TABLE_CHROME = 6  # lines of a batch's header, table borders and the "more" line


@dataclass(frozen=True)
class Snapshot:
    """The watched batches and their users as the database has them now."""

    batches: tuple[tuple[Batch, tuple[MigrationUser, ...]], ...]

    @classmethod
    def read(cls, service: ServiceContext, batch_ids: Iterable[int]) -> Snapshot:
        found = []
        for batch_id in sorted(batch_ids):
            batch = service.store.batch_by_id(batch_id)
            if batch is not None:
                found.append((batch, tuple(service.store.users(batch_id=batch_id))))
        return cls(tuple(found))


def run_here(service: ServiceContext, wait: bool | None) -> bool:
    """Whether this command should run the scheduler itself (no service runs)."""
    if wait is False:
        return False
    if service_running(service):
        if wait:
            note = "note: a mailferry service runs on this database; it does the work"
            click.echo(note, err=True)
        return False
    return True


def future_start(service: ServiceContext, batch: Batch) -> bool:
    """A StartAfter still ahead: waiting here would block until then."""
    start = batch.start_after
    if start is None or start <= service.now():
        return False
    click.echo(
        f"note: batch {batch.name} starts after {start.isoformat()}; "
        "run `mailferry serve` to carry it out then",
        err=True,
    )
    return True


def watch(service: ServiceContext, batch_ids: set[int]) -> None:
    """Run the scheduler in the foreground until the batches settle, showing progress."""
    stdout = sys.stdout
    view: ProgressView = (
        LiveView(service, batch_ids, Console(file=stdout))
        if stdout.isatty()
        else PlainLines(service, batch_ids, sys.stderr)
    )
    try:
        with view:
            asyncio.run(run_in_process(service, batch_ids, view.refresh, describe=_describe))
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the batch keeps its status; `mailferry serve` (or running this "
            "command again) carries on where it stopped",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


def _describe(error: Exception) -> str:
    return describe(error) if isinstance(error, MailferryError) else f"{type(error).__name__}"


class ProgressView(ABC):
    """Base of the two views: ``refresh()`` is the scheduler's on_change callback."""

    def __init__(self, service: ServiceContext, batch_ids: set[int]) -> None:
        self.service = service
        self.batch_ids = batch_ids

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.show(Snapshot.read(self.service, self.batch_ids))

    @abstractmethod
    def show(self, snapshot: Snapshot) -> None:
        """Draw the batches and users as they are now."""


class PlainLines(ProgressView):
    """One line per status change of a batch or a user."""

    def __init__(self, service: ServiceContext, batch_ids: set[int], stream: TextIO) -> None:
        super().__init__(service, batch_ids)
        self.stream = stream
        self.seen: dict[tuple[str, int], str] = {}

    def show(self, snapshot: Snapshot) -> None:
        for line in self.changes(snapshot):
            self.stream.write(printable(line) + "\n")
        self.stream.flush()

    def changes(self, snapshot: Snapshot) -> list[str]:
        lines = []
        for batch, users in snapshot.batches:
            if self._changed(("batch", batch.id), batch.status.value):
                lines.append(f"batch {batch.name}: {batch.status.value}")
            for user in users:
                if self._changed(("user", user.id), user.status.value):
                    lines.append(f"  {user.email_address}: {user_line(user)}")
        return lines

    def _changed(self, key: tuple[str, int], status: str) -> bool:
        if self.seen.get(key) == status:
            return False
        self.seen[key] = status
        return True


class LiveView(ProgressView):
    """A Rich live table: per batch a summary line, then its busiest users."""

    def __init__(self, service: ServiceContext, batch_ids: set[int], console: Console) -> None:
        super().__init__(service, batch_ids)
        self.console = console
        self.live = Live(console=console, transient=True, auto_refresh=False)

    def __enter__(self) -> ProgressView:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.live.stop()

    def show(self, snapshot: Snapshot) -> None:
        rows = max(5, self.console.size.height // max(1, len(snapshot.batches)) - _TABLE_CHROME)
        self.live.update(render(snapshot, self.service.now(), rows), refresh=True)


def render(snapshot: Snapshot, now: dt.datetime, max_rows: int) -> RenderableType:
    parts: list[RenderableType] = []
    for batch, users in snapshot.batches:
        parts.append(Text(printable(batch_summary(batch, users, now)), style="bold"))
        table = Table(show_edge=False, pad_edge=False)
        for column in ("User", "Status", "Items", "%", "Error"):
            table.add_column(column, justify="right" if column in ("Items", "%") else "left")
        shown = busiest(users, max_rows)
        for user in shown:
            table.add_row(*_user_cells(user))
        parts.append(table)
        if len(users) > len(shown):
            parts.append(Text(f"… and {len(users) - len(shown)} more users", style="dim"))
    return Group(*parts)


def batch_summary(batch: Batch, users: Sequence[MigrationUser], now: dt.datetime) -> str:
    view: dict[str, Any] = batch_properties(batch, users, now)
    return (
        f"{batch.name}: {batch.status.value}  {view['SyncedCount']}/{view['TotalCount']} synced, "
        f"{view['ActiveCount']} active, {view['FailedCount']} failed, "
        f"{view['PercentageComplete']}%"
    )


def busiest(users: Sequence[MigrationUser], limit: int) -> list[MigrationUser]:
    """Running users first, then failed ones, then the rest (CSV order within each)."""

    def rank(user: MigrationUser) -> int:
        if user.status in USER_RUNNING:
            return 0
        return 1 if user.status in USER_FAILED else 2

    return sorted(users, key=lambda u: (rank(u), u.row))[:limit]


def user_line(user: MigrationUser) -> str:
    items = f"{user.synced_item_count}/{user.total_items_in_source} items"
    error = f": {user.error}" if user.error else ""
    return f"{user.status.value} ({items}){error}"


def _user_cells(user: MigrationUser) -> list[str]:
    style = "red" if user.status in USER_FAILED else "green" if user.initial_sync_done else ""
    status = f"[{style}]{user.status.value}[/]" if style else user.status.value
    return [
        rich_text(user.email_address),
        status,
        f"{user.synced_item_count}/{user.total_items_in_source}",
        str(user.percentage_complete),
        rich_text(user.error or ""),
    ]
