"""Finding messages again by fingerprint instead of trusting UIDs (engine.md rules 1, 3, 4).

- :func:`reconcile_pending`: pairs whose APPEND may or may not have happened
  (a crash between intent and outcome) are looked up on the target from the
  recorded UIDNEXT upwards; found ones are done, the rest dropped (copied again)
  and returned as :class:`InDoubt`.
- :func:`remove_late_copies`: after those are copied again, an APPEND of the first
  run that the target stored late (bytes a cut-off connection had already sent,
  still in a proxy or a network buffer when we looked) is a second copy: found by
  fingerprint above the recorded UIDNEXT, outside every pair, and deleted.
- :func:`revalidate_target`: the target folder's UIDVALIDITY changed, so every
  recorded target UID is re-found by fingerprint.
- :func:`remap_source`: the source folder's UIDVALIDITY changed; pairs are
  re-matched to the new source UIDs by fingerprint, never re-copied blindly.
  Pairs whose message is no longer found are treated like expunged ones; when
  most of them are not found the folder is stopped instead (no mass guess).
- :func:`adopt`: the first sync of a folder whose target already holds mail
  (another tool, a lost state database) pairs identical messages instead of
  copying them a second time.

Matching is by multiset: two identical messages match two copies, never one twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from mailferry.engine.headers import normalize_message_id
from mailferry.engine.ledger import Ledger
from mailferry.engine.planner import canonical_flag, match_by_fingerprint
from mailferry.errors import FolderError
from mailferry.state.records import DONE, PairIntent
from mailferry.stores.base import (
    MessageMeta,
    SourceMailbox,
    TargetMailbox,
    fingerprint,
)

_RECENT = "\\Recent"
#: Below this many unmatched pairs a UIDVALIDITY change is never called a rewrite.
_GUESS_THRESHOLD = 10


def fingerprints(metas: Sequence[MessageMeta], ids: Mapping[int, str | None]) -> dict[int, str]:
    """UID -> fingerprint, from listed messages and their Message-IDs."""
    return {
        m.uid: fingerprint(normalize_message_id(ids.get(m.uid)), m.size, m.internaldate)
        for m in metas
    }


async def source_fingerprints(
    source: SourceMailbox, folder: str, metas: Sequence[MessageMeta]
) -> dict[int, str]:
    if not metas:
        return {}
    ids = await source.message_ids(folder, [m.uid for m in metas])
    return fingerprints(metas, ids)


async def target_messages(
    target: TargetMailbox, folder: str, *, min_uid: int, exclude: Collection[int]
) -> tuple[dict[int, str], dict[int, MessageMeta]]:
    """Fingerprints and metas of the target messages from ``min_uid`` up, minus ``exclude``."""
    _status, listed = await target.list_messages(folder, min_uid=max(1, min_uid))
    metas = [m for m in listed if m.uid not in exclude and m.uid >= min_uid]
    if not metas:
        return {}, {}
    ids = await target.message_ids(folder, [m.uid for m in metas])
    return fingerprints(metas, ids), {m.uid: m for m in metas}


async def find_on_target(
    target: TargetMailbox,
    folder: str,
    wanted: Mapping[int, str],
    *,
    min_uid: int,
    exclude: Collection[int],
    in_order: bool = False,
) -> dict[int, MessageMeta]:
    """Source UID -> the target message found with its fingerprint. ``in_order``: the
    wanted messages were appended in that order, so identical ones get rising UIDs."""
    if not wanted:
        return {}
    available, metas = await target_messages(target, folder, min_uid=min_uid, exclude=exclude)
    matched = match_by_fingerprint(wanted, available, in_order=in_order)
    return {uid: metas[target_uid] for uid, target_uid in matched.items()}


def settle_found(ledger: Ledger, found: Mapping[int, MessageMeta]) -> None:
    """Mark found pairs done, and record the flags their target copy really has: a
    copy found by fingerprint may be the twin of the one we meant (identical
    messages), so the next plan puts the right flags on it."""
    ledger.settle({uid: meta.uid for uid, meta in found.items()})
    actual = {uid: target_flags(meta) for uid, meta in found.items()}
    ledger.set_flags({uid: f for uid, f in actual.items() if f != ledger.pairs[uid].flags})


def target_flags(meta: MessageMeta) -> tuple[str, ...]:
    """A target copy's flags as a pair records them (canonical, sorted, no ``\\Recent``)."""
    return tuple(sorted({canonical_flag(f) for f in meta.flags} - {_RECENT}))


@dataclass(frozen=True)
class InDoubt:
    """Pending pairs the target did not show when reconciled: dropped and copied again,
    though their first APPEND may still be stored. ``fingerprints``: source UID ->
    fingerprint; ``min_uid``: the lowest UIDNEXT recorded before those APPENDs."""

    fingerprints: Mapping[int, str]
    min_uid: int


async def reconcile_pending(
    target: TargetMailbox, folder: str, ledger: Ledger, *, from_start: bool
) -> InDoubt | None:
    """Settle or drop every pending pair; returns the dropped ones (None: none)."""
    pending = ledger.pending
    if not pending:
        return None
    starts = [p.target_uidnext_before for p in pending]
    min_uid = 1 if from_start or None in starts else min(s for s in starts if s is not None)
    wanted = {p.source_uid: p.fingerprint for p in pending}
    found = await find_on_target(
        target, folder, wanted, min_uid=min_uid, exclude=ledger.target_uids()
    )
    settle_found(ledger, found)
    lost = [uid for uid in wanted if uid not in found]
    ledger.drop(lost)
    return InDoubt({uid: wanted[uid] for uid in lost}, min_uid) if lost else None


async def remove_late_copies(
    target: TargetMailbox, folder: str, ledger: Ledger, doubt: InDoubt
) -> int:
    """Delete the second copies of pairs in doubt that were copied again; returns how
    many. A candidate is above the doubt's UIDNEXT, in no pair, with the fingerprint
    (Message-ID, size, INTERNALDATE we set) of a pair copied again: the first APPEND,
    stored late. Each copied-again pair accounts for at most one such copy."""
    again = {
        uid: fp
        for uid, fp in doubt.fingerprints.items()
        if (pair := ledger.pairs.get(uid)) is not None
        and pair.state == DONE
        and pair.target_uid is not None
        and pair.fingerprint == fp
    }
    if not again:
        return 0
    available, _metas = await target_messages(
        target, folder, min_uid=doubt.min_uid, exclude=ledger.target_uids()
    )
    extra = sorted(match_by_fingerprint(again, available).values())
    if extra:
        try:
            await target.delete(folder, extra)
        except FolderError as error:
            reason = (
                f"{len(extra)} message(s) stored twice (an APPEND cut off by a stop landed "
                f"late, target UID {', '.join(map(str, extra[:10]))}) can't be removed: "
                f"{error.reason}"
            )
            raise FolderError(folder, reason) from error
    return len(extra)


async def revalidate_target(target: TargetMailbox, folder: str, ledger: Ledger) -> None:
    """Re-find every done pair's target copy after a target UIDVALIDITY change."""
    wanted = {p.source_uid: p.fingerprint for p in ledger.done}
    found = await find_on_target(target, folder, wanted, min_uid=1, exclude=())
    settle_found(ledger, found)
    ledger.drop([uid for uid in wanted if uid not in found])


async def remap_source(
    source: SourceMailbox,
    target: TargetMailbox,
    folders: tuple[str, str],
    ledger: Ledger,
    metas: Sequence[MessageMeta],
    *,
    delete_unmatched: bool,
) -> None:
    """Move pairs to the new source UIDs after a source UIDVALIDITY change.

    Pairs whose message is not found are forgotten like expunged ones (their target
    copy deleted only when deletions are propagated). When most of many pairs find
    nothing, the folder is stopped: that looks like a server that rewrote its
    messages, and guessing would mean mass deletion and mass copying.
    """
    source_folder, target_folder = folders
    available = await source_fingerprints(source, source_folder, metas)
    wanted = {p.source_uid: p.fingerprint for p in ledger.pairs.values()}
    mapping = match_by_fingerprint(wanted, available)
    lost = [uid for uid in wanted if uid not in mapping]
    if len(lost) > _GUESS_THRESHOLD and 2 * len(lost) > len(wanted):
        reason = (
            f"UIDVALIDITY changed and {len(lost)} of {len(wanted)} migrated messages are no "
            "longer found by Message-ID, size and date; refusing to guess"
        )
        raise FolderError(source_folder, reason)
    doomed = [ledger.pairs[uid].target_uid for uid in lost]
    targets = [uid for uid in doomed if uid is not None]
    if delete_unmatched and targets and not ledger.dry_run:
        await target.delete(target_folder, targets)
    ledger.drop(lost)
    ledger.remap(mapping)


async def adopt(
    source: SourceMailbox,
    target: TargetMailbox,
    folders: tuple[str, str],
    ledger: Ledger,
    metas: Sequence[MessageMeta],
) -> int:
    """Pair unpaired source messages with identical unpaired target messages."""
    source_folder, target_folder = folders
    unpaired = [m for m in metas if m.uid not in ledger.pairs]
    if not unpaired:
        return 0
    available, target_metas = await target_messages(
        target, target_folder, min_uid=1, exclude=ledger.target_uids()
    )
    if not available:
        return 0
    wanted = await source_fingerprints(source, source_folder, unpaired)
    matched = match_by_fingerprint(wanted, available)
    intents = [_adopted(uid, wanted[uid], target_metas[t]) for uid, t in sorted(matched.items())]
    ledger.intend(intents)
    ledger.settle(matched)
    return len(matched)


def _adopted(source_uid: int, fp: str, found: MessageMeta) -> PairIntent:
    """A pair for a copy already on the target, with the flags it has there."""
    return PairIntent(
        source_uid=source_uid,
        fingerprint=fp,
        size=found.size,
        internaldate=found.internaldate,
        flags=target_flags(found),
        target_uidnext_before=found.uid,
    )
