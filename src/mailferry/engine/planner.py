"""Per-folder planning: what a source listing plus the recorded pairs ask us to do. Pure.

The answer is a :class:`FolderPlan` of actions (vdirsyncer style): ``Copy`` new
messages newest first (only those inside the content filter's Received window, if
any: the others are ``filtered``, decided before anything else), ``Skip`` the ones
that must not be copied (``LargeItem`` decided from RFC822.SIZE without
downloading, ``ItemLimit`` decided mailbox-wide by :func:`items_over_limit`),
``SetFlags`` where the source flags differ from what we last wrote, and ``Forget``
pairs whose source message is gone.

Choices made here:

- A message outside ``SyncOptions.received`` is *not copied* and not a skipped item
  (the batch asked for a window), only counted in ``filtered``. The window decides
  only what is copied: a pair already copied is never forgotten or deleted because of
  it (a narrowed filter deletes nothing), and its flag updates continue.
- A message flagged ``\\Deleted`` is *not copied* unless ``include_deleted``: it is a
  skipped item of kind ``Deleted`` (the user deleted it, but it is still in the source
  folder: every source message is either copied or skipped with a reason, so that
  TotalItemsInSource = Synced + Skipped), and counted in ``deleted``.
  Without ``include_deleted`` the ``\\Deleted`` flag is never written either.
- ``\\Recent`` is never written (no client can set it).
- Flags are compared as sets after system flags are spelt canonically; flags the
  target folder does not keep are dropped and listed in ``unkept_flags``.
- A pending pair (intent recorded, outcome not) is never re-planned: the engine
  reconciles pending pairs before planning.
- A done pair without a target UID (no UIDPLUS, not found again) gets no flag
  updates and no deletion, since we cannot name its target copy.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mailferry.state.records import DONE, PairRecord
from mailferry.stores.base import SYSTEM_FLAGS, MessageMeta
from mailferry.stores.flags import shared
from mailferry.values.sync_options import SyncOptions

LARGE_ITEM = "LargeItem"
ITEM_LIMIT = "ItemLimit"
CORRUPT_ITEM = "CorruptItem"
DELETED_ITEM = "Deleted"
DUPLICATE_LABEL = "DuplicateLabel"
DELETED = "\\Deleted"
RECENT = "\\Recent"

_CANONICAL = {flag.lower(): flag for flag in (*SYSTEM_FLAGS, RECENT)}

_DELETED_REASON = "flagged \\Deleted on the source: not copied (--include-deleted copies it)"

K = TypeVar("K", int, str)


@dataclass(frozen=True, slots=True)
class Copy:
    """Copy a new source message; ``flags`` are the ones to write (the target keeps them)."""

    meta: MessageMeta
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skip:
    """A source message that is not copied and is reported as a skipped item."""

    meta: MessageMeta
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class SetFlags:
    """Replace the flags of a target copy (``flags`` are already restricted to kept ones)."""

    source_uid: int
    target_uid: int
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Forget:
    """The source message is gone: drop the pair, and its target copy if asked to."""

    source_uid: int
    target_uid: int | None
    delete_on_target: bool


@dataclass(frozen=True)
class FolderPlan:
    """The actions for one folder. ``copies`` are newest INTERNALDATE first, ties by UID
    descending; ``deleted`` are source UIDs flagged ``\\Deleted`` that are not copied;
    ``filtered`` the unpaired source UIDs outside the content filter's window."""

    copies: tuple[Copy, ...] = ()
    skips: tuple[Skip, ...] = ()
    flag_updates: tuple[SetFlags, ...] = ()
    forgets: tuple[Forget, ...] = ()
    deleted: tuple[int, ...] = ()
    unkept_flags: tuple[str, ...] = ()
    filtered: tuple[int, ...] = ()

    @property
    def copy_bytes(self) -> int:
        return sum(copy.meta.size for copy in self.copies)

    @property
    def empty(self) -> bool:
        return not (self.copies or self.skips or self.flag_updates or self.forgets)


def canonical_flag(flag: str) -> str:
    """System flags spelt as RFC 3501 does (``\\SEEN`` -> ``\\Seen``); keywords unchanged."""
    return _CANONICAL.get(flag.lower(), flag) if flag.startswith("\\") else flag


def writable_flags(
    flags: Iterable[str], keeps: Callable[[str], bool], *, include_deleted: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(flags to write, sorted; flags the target does not keep, sorted)."""
    kept: set[str] = set()
    unkept: set[str] = set()
    for flag in map(canonical_flag, flags):
        if flag == RECENT or (flag == DELETED and not include_deleted):
            continue
        (kept if keeps(flag) else unkept).add(flag)
    return shared(tuple(sorted(kept))), tuple(sorted(unkept))


_Writable = Callable[[Sequence[str]], tuple[tuple[str, ...], tuple[str, ...]]]


def _writable_memo(keeps: Callable[[str], bool], include_deleted: bool) -> _Writable:
    """:func:`writable_flags` for one folder, computed once per distinct flag list (a
    folder of 100,000 messages has a handful)."""
    cache: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def writable(flags: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        key = tuple(flags)
        found = cache.get(key)
        if found is None:
            found = cache[key] = writable_flags(key, keeps, include_deleted=include_deleted)
        return found

    return writable


def newest_first(meta: MessageMeta) -> tuple[float, int]:
    """Sort key: newest INTERNALDATE first, then the highest UID."""
    return (-meta.internaldate.timestamp(), -meta.uid)


def is_deleted(meta: MessageMeta) -> bool:
    return any(canonical_flag(flag) == DELETED for flag in meta.flags)


def plan_folder(
    present_uids: Collection[int],
    metas: Mapping[int, MessageMeta],
    pairs: Sequence[PairRecord],
    *,
    keeps: Callable[[str], bool],
    over_limit: Collection[int] = (),
    options: SyncOptions,
    duplicates: Mapping[int, str] | None = None,
) -> FolderPlan:
    """Plan one folder.

    ``present_uids`` are all source UIDs now in the folder (pairs outside it are
    forgotten); ``metas`` describe the messages listed this time (all of them, or
    only those changed since a MODSEQ); ``over_limit`` are UIDs beyond the
    mailbox-wide item limit; ``duplicates`` are UIDs of a Gmail source copied from
    another of their labels (``engine/gmail_labels``), each with why.
    """
    paired = {pair.source_uid: pair for pair in pairs}
    duplicates = duplicates or {}
    copies: list[Copy] = []
    skips: list[Skip] = []
    deleted: list[int] = []
    filtered: list[int] = []
    unkept: set[str] = set()
    writable = _writable_memo(keeps, options.include_deleted)
    window = options.received
    for uid, meta in metas.items():
        if uid in paired or uid not in present_uids:
            continue
        if window is not None and not window.admits(meta.internaldate):
            filtered.append(uid)
        elif is_deleted(meta) and not options.include_deleted:
            deleted.append(uid)
            skips.append(Skip(meta, DELETED_ITEM, _DELETED_REASON))
        elif meta.size > options.max_message_size:
            reason = f"{meta.size} bytes exceeds the limit of {options.max_message_size} bytes"
            if options.size_limit_from:
                reason += f" ({options.size_limit_from})"
            skips.append(Skip(meta, LARGE_ITEM, reason))
        elif uid in duplicates:
            skips.append(Skip(meta, DUPLICATE_LABEL, duplicates[uid]))
        elif uid in over_limit:
            reason = f"beyond the limit of {options.max_items} items per mailbox"
            skips.append(Skip(meta, ITEM_LIMIT, reason))
        else:
            flags, missing = writable(meta.flags)
            unkept.update(missing)
            copies.append(Copy(meta, flags))
    updates, forgets = _pair_actions(
        present_uids, metas, paired.values(), writable, options, unkept
    )
    copies.sort(key=lambda copy: newest_first(copy.meta))
    skips.sort(key=lambda skip: newest_first(skip.meta))
    return FolderPlan(
        copies=tuple(copies),
        skips=tuple(skips),
        flag_updates=tuple(updates),
        forgets=tuple(forgets),
        deleted=tuple(sorted(deleted)),
        unkept_flags=tuple(sorted(unkept)),
        filtered=tuple(sorted(filtered)),
    )


def _pair_actions(
    present_uids: Collection[int],
    metas: Mapping[int, MessageMeta],
    pairs: Iterable[PairRecord],
    writable: _Writable,
    options: SyncOptions,
    unkept: set[str],
) -> tuple[list[SetFlags], list[Forget]]:
    updates: list[SetFlags] = []
    forgets: list[Forget] = []
    for pair in sorted(pairs, key=lambda p: p.source_uid):
        if pair.state != DONE:
            continue
        if pair.source_uid not in present_uids:
            delete = options.propagate_deletions and pair.target_uid is not None
            forgets.append(Forget(pair.source_uid, pair.target_uid, delete))
            continue
        meta = metas.get(pair.source_uid)
        if meta is None or pair.target_uid is None:
            continue
        flags, missing = writable(meta.flags)
        unkept.update(missing)
        if set(flags) != set(pair.flags):
            updates.append(SetFlags(pair.source_uid, pair.target_uid, flags))
    return updates, forgets


def items_over_limit(
    listings: Mapping[str, Sequence[MessageMeta]], already_paired: int, max_items: int
) -> dict[str, set[int]]:
    """The mailbox-wide ItemLimit: which candidate messages exceed it, per folder.

    ``listings`` are the messages each folder would copy; ``already_paired`` the
    messages already on the target (they count against the limit). The newest
    candidates across all folders are kept (ties: folder name, then highest UID).
    """
    room = max(0, max_items - already_paired)
    everyone = [
        (newest_first(meta), folder, meta.uid)
        for folder, metas in listings.items()
        for meta in metas
    ]
    over: dict[str, set[int]] = {folder: set() for folder in listings}
    if len(everyone) <= room:
        return over
    kept = {(folder, uid) for _, folder, uid in heapq.nsmallest(room, everyone)}
    for _, folder, uid in everyone:
        if (folder, uid) not in kept:
            over[folder].add(uid)
    return over


def match_by_fingerprint(
    wanted: Mapping[K, str], available: Mapping[int, str], *, in_order: bool = False
) -> dict[K, int]:
    """Pair keys with UIDs of equal fingerprint, as multisets: each UID is used at most
    once, so two copies of one message match two, never one twice. Deterministic:
    within a fingerprint the smallest UIDs go to the smallest keys, or (``in_order``)
    to the keys in ``wanted``'s own order (messages appended in that order)."""
    pool: dict[str, list[int]] = defaultdict(list)
    for uid in sorted(available):
        pool[available[uid]].append(uid)
    for uids in pool.values():
        uids.reverse()  # pop() from the end yields the smallest first
    matched: dict[K, int] = {}
    for key in wanted if in_order else sorted(wanted):
        uids = pool.get(wanted[key], [])
        if uids:
            matched[key] = uids.pop()
    return matched
