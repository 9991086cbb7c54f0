"""What one mailbox sync did: per-folder counts, the mailbox totals, and what it skipped
(messages: ``SkippedItem``; folders: ``SkippedFolder``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """Something not migrated, with why. ``source_uid`` is None for folder-level items.

    ``kind`` is e.g. ``LargeItem``, ``CorruptItem``, ``ItemLimit``, ``DuplicateLabel``; the key
    (folder, source_uid, kind) is unique per mailbox.
    """

    folder: str
    source_uid: int | None
    kind: str
    subject: str
    sender: str
    date: dt.datetime | None
    size: int | None
    reason: str


class SkipReason(StrEnum):
    """Why a folder is not migrated (each is reported as FolderSkipped)."""

    NOT_SELECTABLE = "NotSelectable"
    NON_MAIL = "NonMail"
    EXCLUDED = "Excluded"
    NOT_INCLUDED = "NotIncluded"
    ALL_MAIL = "AllMail"
    DUPLICATE = "Duplicate"
    GMAIL_VIRTUAL = "GmailVirtual"  # Gmail's Important and Starred: views, not folders


@dataclass(frozen=True)
class SkippedFolder:
    """A source folder that is not migrated; ``detail`` names the rule or folder behind it."""

    source_name: str
    reason: SkipReason
    detail: str = ""


@dataclass(frozen=True)
class FolderResult:
    """One mapped folder after a sync.

    ``items``: messages in the source folder; ``copied``/``bytes_copied``: this run;
    ``already_present``: pairs that existed before this run's copies (including
    ``adopted`` ones found on the target); ``skipped``: skipped items found this run;
    ``deleted``: ``\\Deleted`` messages not copied; ``filtered``: messages not copied
    because they were received outside the content filter's window (both count what
    this run listed: a folder listed only since its checkpoint counts only what
    changed, one found unchanged counts 0); ``forgotten``: pairs dropped
    because their source message is gone; ``unchanged``: the cheap no-op check
    said nothing changed; ``error``: why the folder is not fully synced, if it is not
    (a folder error, or messages unaccounted for); ``missing``: source messages this
    sync left neither copied nor skipped with a reason (requested and never delivered,
    gone from the target, or the whole folder when it failed before copying).
    ``late_copies_removed``: second copies deleted from the target, stored late by an
    APPEND a stop had cut off (``engine/reconcile.remove_late_copies``).
    """

    source_folder: str
    target_folder: str
    items: int = 0
    copied: int = 0
    bytes_copied: int = 0
    already_present: int = 0
    adopted: int = 0
    skipped: int = 0
    deleted: int = 0
    flags_updated: int = 0
    forgotten: int = 0
    unchanged: bool = False
    unkept_flags: tuple[str, ...] = ()
    note: str | None = None
    error: str | None = None
    filtered: int = 0
    missing: int = 0
    late_copies_removed: int = 0

    @property
    def synced(self) -> int:
        """Messages of this folder on the target after the sync (pairs done)."""
        return self.already_present + self.copied


@dataclass(frozen=True)
class MailboxResult:
    """One user's sync: per-folder results, the skipped items and folders, totals.

    ``skipped_items`` are the items found this run; ``skipped_total`` counts every
    message-level skipped item the state holds for the mailbox after it (a message
    skipped at an earlier sync is still skipped), so that ``in_scope`` (the messages
    the sync is answerable for: every source message but those the content filter
    leaves out) = ``synced`` + ``skipped_total`` + ``missing``. The sync is
    ``complete`` only when no folder failed and nothing is missing.
    """

    folders: tuple[FolderResult, ...]
    skipped_items: tuple[SkippedItem, ...]
    skipped_folders: tuple[SkippedFolder, ...]
    duration: float
    dry_run: bool = False
    skipped_total: int = 0

    @property
    def items(self) -> int:
        return sum(f.items for f in self.folders)

    @property
    def copied(self) -> int:
        return sum(f.copied for f in self.folders)

    @property
    def bytes_copied(self) -> int:
        return sum(f.bytes_copied for f in self.folders)

    @property
    def already_present(self) -> int:
        return sum(f.already_present for f in self.folders)

    @property
    def skipped(self) -> int:
        return len(self.skipped_items)

    @property
    def synced(self) -> int:
        """Messages on the target (pairs done) after the sync, in every folder."""
        return sum(f.synced for f in self.folders)

    @property
    def missing(self) -> int:
        return sum(f.missing for f in self.folders)

    @property
    def in_scope(self) -> int:
        """TotalItemsInSourceMailboxCount: synced + skipped + missing."""
        return self.synced + self.skipped_total + self.missing

    @property
    def complete(self) -> bool:
        """Every source message in scope is copied or skipped with a reason."""
        return not self.errors and self.missing == 0

    def incomplete_reason(self, shown: int = 3) -> str | None:
        """ "2 folder(s) not fully synced: A: why; B: why" (None when complete)."""
        if self.complete:
            return None
        errors = self.errors
        text = "; ".join(f"{name}: {why}" for name, why in list(errors.items())[:shown])
        more = f"; and {len(errors) - shown} more" if len(errors) > shown else ""
        head = f"{len(errors)} folder(s) not fully synced ({self.missing} message(s) missing)"
        return f"{head}: {text}{more}"

    @property
    def filtered(self) -> int:
        """Messages the content filter left out (see :attr:`FolderResult.filtered`)."""
        return sum(f.filtered for f in self.folders)

    @property
    def flags_updated(self) -> int:
        return sum(f.flags_updated for f in self.folders)

    @property
    def errors(self) -> dict[str, str]:
        """Source folder -> why it was skipped, for folders that failed."""
        return {f.source_folder: f.error for f in self.folders if f.error is not None}
