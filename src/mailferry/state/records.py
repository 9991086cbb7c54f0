"""Values the StateStore reads and writes (see stores/base.py for the glossary)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

PairState = Literal["pending", "done"]
PENDING: PairState = "pending"
DONE: PairState = "done"


@dataclass(frozen=True, slots=True)
class FolderRecord:
    """One source folder of a mailbox and its checkpoint (all None before the first sync).

    ``scope`` is the content filter the checkpoint was made under (its canonical text,
    '' for none): under another one the checkpoint does not describe what was wanted.
    """

    id: int
    mailbox_id: int
    source_folder: str
    target_folder: str
    source_uidvalidity: int | None
    source_uidnext: int | None
    source_highestmodseq: int | None
    source_messages: int | None
    target_uidvalidity: int | None
    last_synced_at: dt.datetime | None
    scope: str = ""


@dataclass(frozen=True, slots=True)
class PairIntent:
    """A copy about to be appended: recorded as a 'pending' pair before the APPEND.

    ``target_uidnext_before`` is the target folder's UIDNEXT before the append, so a
    crash between append and outcome can be reconciled from that UID upwards.
    """

    source_uid: int
    fingerprint: str
    size: int
    internaldate: dt.datetime
    flags: tuple[str, ...]
    target_uidnext_before: int | None


@dataclass(frozen=True, slots=True)
class PairRecord:
    """A message pair as stored. ``flags`` is sorted: as last written to the target.

    ``target_uid`` is None while pending, and also when done on a target without
    UIDPLUS that could not tell the UID.
    """

    source_uid: int
    target_uid: int | None
    state: PairState
    fingerprint: str
    size: int
    internaldate: dt.datetime
    flags: tuple[str, ...]
    target_uidnext_before: int | None


def flags_to_text(flags: Iterable[str]) -> str:
    """Sorted, de-duplicated, space-separated; IMAP flags are atoms (no spaces)."""
    unique = set(flags)
    for flag in unique:
        if not flag or flag.split() != [flag]:
            raise ValueError(f"not an IMAP flag: {flag!r}")
    return " ".join(sorted(unique))


def flags_from_text(text: str) -> tuple[str, ...]:
    """The stored form is already sorted (see ``flags_to_text``)."""
    return tuple(text.split())
