"""Progress events of one mailbox sync (and of a one-shot run's retries).

The engine never prints: it hands these to a callback (the CLI draws Rich progress
bars from them). Totals are announced in ``MailboxStarted`` before the first message
is copied, so rates and ETAs work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailferry.values.results import FolderResult, MailboxResult, SkippedItem


@dataclass(frozen=True)
class MailboxStarted:
    """Every folder is listed and planned: this many messages and bytes will be copied."""

    total_items: int
    total_bytes: int
    folders: int


@dataclass(frozen=True)
class FolderStarted:
    """Copying into one folder begins (``to_copy`` messages, ``bytes`` in all)."""

    name: str
    target_name: str
    to_copy: int
    bytes: int


@dataclass(frozen=True)
class MessagesCopied:
    """One batch was stored on the target."""

    folder: str
    count: int
    bytes: int


@dataclass(frozen=True)
class ItemSkipped:
    """A message was not migrated (too large, over the item limit, refused by the target)."""

    item: SkippedItem


@dataclass(frozen=True)
class FolderFinished:
    """A folder is done (or failed: ``result.error``)."""

    result: FolderResult


@dataclass(frozen=True)
class MailboxFinished:
    result: MailboxResult


@dataclass(frozen=True)
class RetryWaiting:
    """A user's attempt ``attempt`` (of at most ``max_attempts``) failed with ``reason``;
    the next one starts in ``seconds``. Handed to the progress callback."""

    attempt: int
    max_attempts: int
    seconds: float
    reason: str
    error_kind: str

    def text(self) -> str:
        """``waiting 2.0 s before attempt 2 of 5: <reason>`` (``10 ms`` under a second)."""
        wait = f"{self.seconds * 1000:.0f} ms" if self.seconds < 1 else f"{self.seconds:.1f} s"
        return f"waiting {wait} before attempt {self.attempt + 1} of {self.max_attempts}: " + (
            self.reason
        )


ProgressEvent = (
    MailboxStarted | FolderStarted | MessagesCopied | ItemSkipped | FolderFinished | MailboxFinished
)
ProgressCallback = Callable[[ProgressEvent], None]

MigrationEvent = ProgressEvent | RetryWaiting
"""What a one-shot run's progress callback receives: a sync's events, and a user's
wait before its next attempt."""
