"""What a verification found: per folder, the source side against the target side.

Messages are compared as each store serves them (so Dovecot's bare-LF to CRLF
rewrite is not a difference); flags are compared as the migration writes them:
``\\Recent`` never, ``\\Deleted`` only with ``include_deleted``, and only the
flags the target folder keeps. Keywords compare case-insensitively (RFC 3501).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailferry.values.results import SkippedFolder

DELETED_ITEM = "Deleted"  # a \Deleted source message, not copied by policy
FILTERED_ITEM = "Filtered"  # received outside the content filter's window


@dataclass(frozen=True)
class MessageRef:
    """A message named in a report: its UID in its own folder, size as served, date."""

    uid: int
    size: int
    internaldate: dt.datetime
    subject: str | None = None


@dataclass(frozen=True)
class FlagMismatch:
    """A copy whose flags differ: ``missing`` should be on the target, ``extra`` should not."""

    source_uid: int
    target_uid: int
    missing: tuple[str, ...]
    extra: tuple[str, ...]


@dataclass(frozen=True)
class DateMismatch:
    """A copy whose INTERNALDATE differs from the source's (compared to the second)."""

    source_uid: int
    target_uid: int
    source_date: dt.datetime
    target_date: dt.datetime


@dataclass(frozen=True)
class PolicySkip:
    """A source message the migration does not copy by policy: ``kind`` is ``Filtered``
    (outside the content filter), ``Deleted``, ``LargeItem`` or ``ItemLimit``;
    ``on_target`` when a copy is there all the same (copied by an earlier run, under a
    broader filter, or flagged ``\\Deleted`` after it was copied)."""

    uid: int
    kind: str
    size: int
    internaldate: dt.datetime
    on_target: bool = False


@dataclass(frozen=True)
class FolderVerification:
    """One mapped folder.

    ``source_count``: messages in the source folder; ``expected``: those the
    migration copies (the others are in ``policy_skipped``); ``target_count``:
    messages in the target folder. ``missing``: expected source messages whose
    bytes are not on the target (source UIDs); ``unexpected``: target messages
    matching no source message (target UIDs). Byte counts are as served.
    ``error``: why the folder could not be verified.
    """

    source_folder: str
    target_folder: str
    source_count: int = 0
    expected: int = 0
    target_count: int = 0
    missing: tuple[MessageRef, ...] = ()
    unexpected: tuple[MessageRef, ...] = ()
    flag_mismatches: tuple[FlagMismatch, ...] = ()
    date_mismatches: tuple[DateMismatch, ...] = ()
    policy_skipped: tuple[PolicySkip, ...] = ()
    expected_bytes: int = 0
    target_bytes: int = 0
    target_exists: bool = True
    error: str | None = None

    @property
    def filtered(self) -> int:
        """Source messages outside the content filter (not expected on the target)."""
        return sum(1 for skip in self.policy_skipped if skip.kind == FILTERED_ITEM)

    @property
    def matched(self) -> int:
        return self.expected - len(self.missing)

    @property
    def ok(self) -> bool:
        return self.error is None and not (
            self.missing or self.unexpected or self.flag_mismatches or self.date_mismatches
        )


@dataclass(frozen=True)
class VerifyReport:
    """One user's verification: every mapped folder, and the folders not migrated."""

    folders: tuple[FolderVerification, ...]
    skipped_folders: tuple[SkippedFolder, ...]
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return all(folder.ok for folder in self.folders)

    @property
    def missing(self) -> int:
        return sum(len(f.missing) for f in self.folders)

    @property
    def unexpected(self) -> int:
        return sum(len(f.unexpected) for f in self.folders)

    @property
    def flag_mismatches(self) -> int:
        return sum(len(f.flag_mismatches) for f in self.folders)

    @property
    def date_mismatches(self) -> int:
        return sum(len(f.date_mismatches) for f in self.folders)

    @property
    def errors(self) -> dict[str, str]:
        """Source folder -> why it could not be verified."""
        return {f.source_folder: f.error for f in self.folders if f.error is not None}
