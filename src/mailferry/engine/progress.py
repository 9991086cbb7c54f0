"""Progress events of one mailbox sync. The engine never prints: it hands these to a
callback (the CLI draws Rich progress bars from them). Totals are announced in
``MailboxStarted`` before the first message is copied, so rates and ETAs work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailferry.engine.results import FolderResult, MailboxResult
from mailferry.state.records import SkippedItem


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


ProgressEvent = (
    MailboxStarted | FolderStarted | MessagesCopied | ItemSkipped | FolderFinished | MailboxFinished
)
ProgressCallback = Callable[[ProgressEvent], None]
