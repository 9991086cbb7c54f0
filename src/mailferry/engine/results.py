"""What one mailbox sync did: per-folder counts and the mailbox totals."""

from __future__ import annotations

from dataclasses import dataclass

from mailferry.engine.folder_types import SkippedFolder
from mailferry.state.records import SkippedItem


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
    said nothing changed; ``error``: why the folder was skipped, if it was.
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


@dataclass(frozen=True)
class MailboxResult:
    """One user's sync: per-folder results, the skipped items and folders, totals."""

    folders: tuple[FolderResult, ...]
    skipped_items: tuple[SkippedItem, ...]
    skipped_folders: tuple[SkippedFolder, ...]
    duration: float
    dry_run: bool = False

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
