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

from mailferry.app import Mailferry
from mailferry.interfaces.cli.safe_text import printable, rich_text

EXIT_INTERRUPTED = 130
_TABLE_CHROME = 6  # lines of a batch's header, table borders and the "more" line
_RUNNING = frozenset({"Validating", "Syncing", "IncrementalSyncing", "Completing", "Stopping"})
_FAILED = frozenset({"Failed", "IncrementalFailed"})
_SYNCED = frozenset({"Synced", "Completed"})

View = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """The watched batches and their users' statistics views as they are now."""

    batches: tuple[tuple[View, tuple[View, ...]], ...]

    @classmethod
    def read(cls, app: Mailferry, names: Iterable[str]) -> Snapshot:
        found = app.batch_progress(sorted(names))
        return cls(tuple((entry["Batch"], tuple(entry["Users"])) for entry in found))


def run_here(app: Mailferry, wait: bool | None) -> bool:
    """Whether this command should run the scheduler itself (no service runs)."""
    if wait is False:
        return False
    if app.service_running():
        if wait:
            note = "note: a mailferry service runs on this database; it does the work"
            click.echo(note, err=True)
        return False
    return True


def future_start(app: Mailferry, batch: View) -> bool:
    """A StartAfter still ahead: waiting here would block until then."""
    text = batch.get("StartAfter")
    if not text:
        return False
    start = dt.datetime.fromisoformat(text)
    if start <= app.now():
        return False
    click.echo(
        f"note: batch {batch['Identity']} starts after {start.isoformat()}; "
        "run `mailferry serve` to carry it out then",
        err=True,
    )
    return True


def watch(app: Mailferry, names: set[str]) -> None:
    """Run the scheduler in the foreground until the batches settle, showing progress."""
    stdout = sys.stdout
    view: ProgressView = (
        LiveView(app, names, Console(file=stdout))
        if stdout.isatty()
        else PlainLines(app, names, sys.stderr)
    )
    try:
        with view:
            asyncio.run(app.run_here(names, view.refresh))
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the batch keeps its status; `mailferry serve` (or running this "
            "command again) carries on where it stopped",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


class ProgressView(ABC):
    """Base of the two views: ``refresh()`` is the scheduler's on_change callback."""

    def __init__(self, app: Mailferry, names: set[str]) -> None:
        self.app = app
        self.names = names

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.show(Snapshot.read(self.app, self.names))

    @abstractmethod
    def show(self, snapshot: Snapshot) -> None:
        """Draw the batches and users as they are now."""


class PlainLines(ProgressView):
    """One line per status change of a batch or a user."""

    def __init__(self, app: Mailferry, names: set[str], stream: TextIO) -> None:
        super().__init__(app, names)
        self.stream = stream
        self.seen: dict[tuple[str, str], str] = {}

    def show(self, snapshot: Snapshot) -> None:
        for line in self.changes(snapshot):
            self.stream.write(printable(line) + "\n")
        self.stream.flush()

    def changes(self, snapshot: Snapshot) -> list[str]:
        lines = []
        for batch, users in snapshot.batches:
            if self._changed(("batch", batch["Identity"]), batch["Status"]):
                lines.append(f"batch {batch['Identity']}: {batch['Status']}")
            for user in users:
                if self._changed(("user", user["Identity"]), user["Status"]):
                    lines.append(f"  {user['Identity']}: {user_line(user)}")
        return lines

    def _changed(self, key: tuple[str, str], status: str) -> bool:
        if self.seen.get(key) == status:
            return False
        self.seen[key] = status
        return True


class LiveView(ProgressView):
    """A Rich live table: per batch a summary line, then its busiest users."""

    def __init__(self, app: Mailferry, names: set[str], console: Console) -> None:
        super().__init__(app, names)
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
        self.live.update(render(snapshot, rows), refresh=True)


def render(snapshot: Snapshot, max_rows: int) -> RenderableType:
    parts: list[RenderableType] = []
    for batch, users in snapshot.batches:
        parts.append(Text(printable(batch_summary(batch)), style="bold"))
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


def batch_summary(batch: View) -> str:
    return (
        f"{batch['Identity']}: {batch['Status']}  {batch['SyncedCount']}/{batch['TotalCount']} "
        f"synced, {batch['ActiveCount']} active, {batch['FailedCount']} failed, "
        f"{batch['PercentageComplete']}%"
    )


def busiest(users: Sequence[View], limit: int) -> list[View]:
    """Running users first, then failed ones, then the rest (CSV order within each)."""

    def rank(user: View) -> int:
        if user["Status"] in _RUNNING:
            return 0
        return 1 if user["Status"] in _FAILED else 2

    order = sorted(range(len(users)), key=lambda i: (rank(users[i]), i))
    return [users[i] for i in order[:limit]]


def user_line(user: View) -> str:
    items = f"{user['SyncedItemCount']}/{user['TotalItemsInSourceMailboxCount']} items"
    error = f": {user['Error']}" if user["Error"] else ""
    return f"{user['Status']} ({items}){error}"


def _user_cells(user: View) -> list[str]:
    status_text = user["Status"]
    style = "red" if status_text in _FAILED else "green" if status_text in _SYNCED else ""
    status = f"[{style}]{status_text}[/]" if style else status_text
    return [
        rich_text(user["Identity"]),
        status,
        f"{user['SyncedItemCount']}/{user['TotalItemsInSourceMailboxCount']}",
        str(user["PercentageComplete"]),
        rich_text(user["Error"] or ""),
    ]
