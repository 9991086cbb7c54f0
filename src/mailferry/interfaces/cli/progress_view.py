"""Rich progress bars for a running migration: one per user and one overall.

Each bar counts messages (rate and ETA from Rich) and shows the bytes copied
and MB/s beside it. A user waiting to be retried (throttled, disconnected) gets a
line saying how long and why. Fed by the engine's progress events; draws nothing but
the final summary when the output is not a terminal.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from mailferry.interfaces.cli.safe_text import printable
from mailferry.values.progress import (
    ItemSkipped,
    MailboxFinished,
    MailboxStarted,
    MessagesCopied,
    RetryWaiting,
)


class _RateColumn(ProgressColumn):
    """``123 msg/s  4.5 MB  1.2 MB/s`` from the task's speed and its bytes field."""

    def render(self, task: Task) -> Text:
        rate = f"{task.speed:,.0f} msg/s" if task.speed else "- msg/s"
        copied = float(task.fields.get("bytes", 0))
        elapsed = task.elapsed or 0.0
        mbps = copied / 1e6 / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:>12} {copied / 1e6:8.1f} MB {mbps:6.1f} MB/s", style="cyan")


class MigrationProgress:
    """Turns (user, event) pairs into bars. Use as a context manager."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._overall = self._progress.add_task("all users", total=0, bytes=0)
        self._users: dict[str, TaskID] = {}
        self._seen: set[str] = set()
        self._started = time.monotonic()

    def __enter__(self) -> MigrationProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def on_event(self, key: str, event: object) -> None:
        """One user's (by address) progress event (``mailferry.values.progress``)."""
        if isinstance(event, RetryWaiting):
            self._retrying(key, event)
        elif isinstance(event, MailboxStarted):
            task = self._progress.add_task(printable(key), total=event.total_items, bytes=0)
            self._users[key] = task
            self._seen.add(key)
            description = f"all users ({len(self._seen)} started)"
            self._progress.update(self._overall, description=description)
            self._grow_overall(event.total_items)
        elif isinstance(event, MessagesCopied) and key in self._users:
            self._advance(self._users[key], event.count, event.bytes)
            self._advance(self._overall, event.count, event.bytes)
        elif isinstance(event, ItemSkipped) and key in self._users:
            self._advance(self._users[key], 1, 0)
            self._advance(self._overall, 1, 0)
        elif isinstance(event, MailboxFinished) and key in self._users:
            task = self._users.pop(key)
            self._progress.update(task, visible=False)

    def _retrying(self, key: str, event: RetryWaiting) -> None:
        """Say why the user waits; its bar goes (the next attempt starts a new one with
        what is left) and the overall total forgets what this attempt left undone."""
        self.console.print(printable(f"{key}: {event.text()}"), markup=False)
        task = self._users.pop(key, None)
        if task is None:
            return
        state = self._progress.tasks[task]
        left = max(0, int((state.total or 0) - state.completed))
        self._grow_overall(-left)
        self._progress.update(task, visible=False)

    def _grow_overall(self, items: int) -> None:
        current = self._progress.tasks[self._overall].total or 0
        self._progress.update(self._overall, total=current + items)

    def _advance(self, task: TaskID, count: int, copied: int) -> None:
        fields = self._progress.tasks[task].fields
        self._progress.update(task, advance=count, bytes=int(fields.get("bytes", 0)) + copied)
