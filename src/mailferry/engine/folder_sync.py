"""One folder's sync, in two steps so the mailbox can be planned as a whole.

:func:`prepare` (rules 1–4) reconciles what a crash left pending, decides from
the checkpoint whether anything changed (one STATUS when nothing did), lists
the source (only the changes since the checkpoint's HIGHESTMODSEQ when that is
enough), re-validates UIDs after a UIDVALIDITY change on either side, adopts
mail already on the target at a first sync, and plans. :func:`execute` (rules
5–7) then forgets expunged pairs, updates flags, records skipped items, copies,
and saves the checkpoint.

A checkpoint is *complete* only when every planned copy was fetched; otherwise
it keeps just the UIDVALIDITYs and the next run lists the folder in full. It also
keeps its *scope*, the content filter it was made under (:func:`.content_filter.scope_text`):
under another filter, messages it left out may now be wanted, so a changed scope skips
the no-op check and the listing since the MODSEQ, and lists the folder in full. Pairs
are always relative to the checkpoint's UIDVALIDITYs: they are saved before the
first pair of a folder is recorded and after every re-validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from mailferry.engine.copier import CopyJob, copy_messages
from mailferry.engine.folder_types import FolderMapping
from mailferry.engine.headers import read_headers
from mailferry.engine.ledger import Ledger
from mailferry.engine.planner import FolderPlan, Skip, plan_folder
from mailferry.engine.reconcile import (
    InDoubt,
    adopt,
    reconcile_pending,
    remap_source,
    remove_late_copies,
    revalidate_target,
)
from mailferry.errors import FolderError, PrepareFailed
from mailferry.state.records import DONE, PENDING, FolderRecord, PairRecord
from mailferry.stores.base import (
    FolderStatus,
    MessageMeta,
    SourceMailbox,
    TargetFolderStatus,
    TargetMailbox,
)
from mailferry.values.content_filter import scope_text
from mailferry.values.progress import FolderStarted, ItemSkipped, ProgressCallback
from mailferry.values.results import FolderResult, SkippedItem
from mailferry.values.sync_options import SyncOptions

if TYPE_CHECKING:
    from mailferry.state.store import StateStore

_FLAG_CHUNK = 1000


@dataclass(frozen=True)
class Context:
    """One mailbox's sync: the stores, the state and the options."""

    source: SourceMailbox
    target: TargetMailbox
    state: StateStore
    mailbox_id: int
    options: SyncOptions
    emit: ProgressCallback


@dataclass
class Prepared:
    """A folder after step one; ``plan`` is None when nothing changed."""

    mapping: FolderMapping
    ledger: Ledger
    status: FolderStatus
    target_status: TargetFolderStatus | None = None
    present: set[int] = field(default_factory=set)
    metas: dict[int, MessageMeta] = field(default_factory=dict)
    adopted: int = 0
    plan: FolderPlan | None = None
    done_count: int = 0  # pairs already done (known before the ledger is loaded)
    listed: int | None = None  # messages of a full listing (None: listed since a MODSEQ)
    duplicates: dict[int, str] = field(default_factory=dict)  # Gmail: UID -> why skipped
    in_doubt: InDoubt | None = None  # pending pairs dropped: their late copies are removed

    @property
    def unchanged(self) -> bool:
        return self.plan is None


async def prepare(ctx: Context, mapping: FolderMapping) -> Prepared:
    """Everything before the copy, up to a preliminary plan (no ItemLimit yet)."""
    record, retargeted = _record(ctx, mapping)
    counts = ctx.state.pair_counts(record.id) if record.id >= 0 else {DONE: 0, PENDING: 0}
    status = await ctx.source.status(mapping.source_name)
    try:
        return await _prepare(
            ctx, mapping, record, retargeted, (counts[PENDING], counts[DONE]), status
        )
    except FolderError as error:
        raise PrepareFailed(error, status.messages, counts[DONE]) from error


async def _prepare(
    ctx: Context,
    mapping: FolderMapping,
    record: FolderRecord,
    retargeted: bool,
    counts: tuple[int, int],
    status: FolderStatus,
) -> Prepared:
    pending, done = counts
    same_scope = record.scope == scope_text(ctx.options.received)
    quiet = not (retargeted or pending) and same_scope and _unchanged(record, status)
    if quiet and await _target_agrees(ctx, mapping.target_name, record, done):
        # Nothing changed: the pairs are not even loaded (the no-op re-run stays fast).
        empty = Ledger(ctx.state, record, (), dry_run=ctx.options.dry_run)
        return Prepared(mapping, empty, status, done_count=done)
    ledger = Ledger(ctx.state, record, _pairs(ctx, record), dry_run=ctx.options.dry_run)
    tstatus = await _target_status(ctx, mapping.target_name)
    work = Prepared(mapping, ledger, status, tstatus)
    moved = retargeted or record.target_uidvalidity not in (None, tstatus.uidvalidity)
    moved = moved or tstatus.messages < len(ledger.done)  # copies gone from the target
    work.in_doubt = await _revalidate_target(ctx, work, moved=moved)
    lost = work.in_doubt is not None
    await _list_source(ctx, work, incremental=same_scope and not (lost or moved))
    await _revalidate_source(ctx, work, record)
    work.plan = replan(ctx.options, work, ())
    return work


async def _target_agrees(ctx: Context, folder: str, record: FolderRecord, done: int) -> bool:
    """Whether the target still holds what the state says was copied there: the folder
    exists, with the recorded UIDVALIDITY and at least as many messages as pairs done.
    A state database that outlived its target (deleted, restored, another server) is
    never trusted on its word: the folder is then re-validated and what is gone copied
    again. One STATUS (or directory scan) per unchanged folder."""
    if ctx.options.dry_run:
        return True
    found = await ctx.target.folder_counts(folder)  # None: gone (the full path creates it)
    return found is not None and found[0] == record.target_uidvalidity and found[1] >= done


async def _revalidate_target(ctx: Context, work: Prepared, *, moved: bool) -> InDoubt | None:
    """Rule 1 (and a target UIDVALIDITY change): returns the pending pairs dropped.
    Done pairs are re-found first, so pending ones skip their UIDs."""
    target_name, ledger = work.mapping.target_name, work.ledger
    if moved and ledger.done:
        await revalidate_target(ctx.target, target_name, ledger)
    return await reconcile_pending(ctx.target, target_name, ledger, from_start=moved)


async def _revalidate_source(ctx: Context, work: Prepared, record: FolderRecord) -> None:
    """Rules 3 and 4, then the checkpoint's UIDVALIDITYs (before any new pair)."""
    ledger, tstatus = work.ledger, work.target_status
    assert tstatus is not None
    folders = (work.mapping.source_name, work.mapping.target_name)
    metas = list(work.metas.values())
    if record.source_uidvalidity not in (None, work.status.uidvalidity) and ledger.pairs:
        delete = ctx.options.propagate_deletions
        await remap_source(ctx.source, ctx.target, folders, ledger, metas, delete_unmatched=delete)
    anchored = (record.source_uidvalidity, record.target_uidvalidity)
    if anchored != (work.status.uidvalidity, tstatus.uidvalidity):
        ledger.checkpoint(work.status, tstatus.uidvalidity, complete=False, scope=record.scope)
    if record.source_uidnext is None and tstatus.messages > len(ledger.target_uids()):
        work.adopted = await adopt(ctx.source, ctx.target, folders, ledger, metas)


def replan(options: SyncOptions, work: Prepared, over_limit: set[int] | tuple[()]) -> FolderPlan:
    assert work.target_status is not None
    return plan_folder(
        work.present,
        work.metas,
        list(work.ledger.pairs.values()),
        keeps=work.target_status.keeps,
        over_limit=over_limit,
        options=options,
        duplicates=work.duplicates,
    )


def _record(ctx: Context, mapping: FolderMapping) -> tuple[FolderRecord, bool]:
    """The folder's record, and whether its target folder changed since the last sync
    (its pairs then name UIDs of another folder). Written only when needed: a re-run
    that finds nothing changed writes nothing."""
    found = ctx.state.folder(ctx.mailbox_id, mapping.source_name)
    retargeted = found is not None and found.target_folder != mapping.target_name
    if found is not None and (not retargeted or ctx.options.dry_run):
        return found, retargeted
    if not ctx.options.dry_run:
        record = ctx.state.upsert_folder(ctx.mailbox_id, mapping.source_name, mapping.target_name)
        return record, retargeted
    empty = (None,) * 6
    return FolderRecord(-1, ctx.mailbox_id, mapping.source_name, mapping.target_name, *empty), False


def _pairs(ctx: Context, record: FolderRecord) -> list[PairRecord]:
    return [] if record.id < 0 else ctx.state.pairs(record.id)


def _unchanged(record: FolderRecord, status: FolderStatus) -> bool:
    """The cheap no-op check: counters equal the checkpoint, with CONDSTORE."""
    return (
        record.source_uidnext is not None
        and status.highestmodseq is not None
        and _same_counters(record, status)
        and record.source_highestmodseq == status.highestmodseq
    )


def _same_counters(record: FolderRecord, status: FolderStatus) -> bool:
    return (record.source_uidvalidity, record.source_uidnext, record.source_messages) == (
        status.uidvalidity,
        status.uidnext,
        status.messages,
    )


async def _target_status(ctx: Context, folder: str) -> TargetFolderStatus:
    if not ctx.options.dry_run:
        await ctx.target.ensure_folder(folder)
        return await ctx.target.folder_status(folder)
    try:
        return await ctx.target.folder_status(folder)
    except FolderError:  # a dry run does not create it: plan as for an empty folder
        return TargetFolderStatus(uidvalidity=0, uidnext=1, messages=0, permanent_flags=("\\*",))


async def _list_source(ctx: Context, work: Prepared, *, incremental: bool) -> None:
    """List the source folder: only what changed since the checkpoint's MODSEQ when no
    message the checkpoint counted has gone (same UIDVALIDITY, and MESSAGES grew by
    exactly the new UIDs listed: with CONDSTORE every new message has a higher MODSEQ,
    so it is among the changes). New mail then costs its own size, not the folder's."""
    record, name = work.ledger.record, work.mapping.source_name
    modseq = record.source_highestmodseq
    if incremental and _incremental_ok(record, work.status):
        status, changed = await ctx.source.list_messages(name, changed_since=modseq)
        if _only_additions(record, status, changed):
            work.status = status
            work.metas = {m.uid: m for m in changed}
            work.present = set(work.ledger.pairs) | set(work.metas)
            return
    status, listed = await ctx.source.list_messages(name)
    if not listed and work.ledger.pairs:
        await _confirm_empty(ctx, name, status)
    if len(listed) < status.messages:
        await _confirm_count(ctx, name, len(listed))
    work.status = status
    work.metas = {m.uid: m for m in listed}
    work.present = set(work.metas)
    work.listed = len(work.present)


def _incremental_ok(record: FolderRecord, status: FolderStatus) -> bool:
    return (
        record.source_uidnext is not None
        and record.source_messages is not None
        and record.source_highestmodseq is not None
        and status.highestmodseq is not None
        and record.source_uidvalidity == status.uidvalidity
        and status.messages >= record.source_messages
    )


def _only_additions(record: FolderRecord, status: FolderStatus, changed: list[MessageMeta]) -> bool:
    """Whether the listing of changes shows every difference from the checkpoint: the
    same UIDVALIDITY, and the new UIDs account for all of the growth in MESSAGES
    (had a counted message been expunged, MESSAGES would be short of that)."""
    if record.source_uidnext is None or record.source_messages is None:
        return False
    new = sum(1 for meta in changed if meta.uid >= record.source_uidnext)
    return (
        status.uidvalidity == record.source_uidvalidity
        and status.messages == record.source_messages + new
    )


async def _confirm_empty(ctx: Context, name: str, listed: FolderStatus) -> None:
    """A folder that suddenly lists nothing is asked again before anything is forgotten."""
    again = await ctx.source.status(name)
    if again.messages or again.uidvalidity != listed.uidvalidity:
        reason = f"listed no messages but STATUS says {again.messages}; not trusting the listing"
        raise FolderError(name, reason)


async def _confirm_count(ctx: Context, name: str, listed: int) -> None:
    """A listing shorter than the folder: asked again (another session may have expunged
    meanwhile); still short, the folder fails rather than leave messages unseen."""
    again = await ctx.source.status(name)
    if again.messages > listed:
        reason = f"the source listed {listed} message(s) but the folder holds {again.messages}"
        raise FolderError(name, reason)


async def execute(ctx: Context, work: Prepared) -> tuple[FolderResult, list[SkippedItem]]:
    """Forget, update flags, record skips, copy; then the checkpoint (rules 5–7).
    Returns the folder's result and the items skipped this run."""
    plan, tstatus, ledger = work.plan, work.target_status, work.ledger
    assert plan is not None and tstatus is not None
    name, target_name = work.mapping.source_name, work.mapping.target_name
    ctx.emit(FolderStarted(name, target_name, len(plan.copies), plan.copy_bytes))
    await _forget(ctx, work, plan)
    await _set_flags(ctx, work, plan)
    skipped = await _skipped_items(ctx, name, plan.skips)
    if not ctx.options.dry_run:
        _prune_skipped(ctx, work, plan, skipped)
        ctx.state.record_skipped(ctx.mailbox_id, skipped)
    for item in skipped:
        ctx.emit(ItemSkipped(item))
    before = len(ledger.done)
    complete, copied, copied_bytes = True, len(plan.copies), plan.copy_bytes
    lost: list[int] = []
    removed = 0
    if not ctx.options.dry_run:
        job = CopyJob(
            ctx.source,
            ctx.target,
            ctx.state,
            ledger,
            ctx.mailbox_id,
            name,
            target_name,
            ctx.options,
            ctx.emit,
        )
        planned = {copy.meta.uid: copy for copy in plan.copies}
        wanted = list(planned)
        # The copier consumes ``planned`` (a copied message's plan is let go as it goes:
        # 100,000 of them are much of a large mailbox's memory), so the plan keeps none.
        work.plan = plan = replace(plan, copies=())
        tally = await copy_messages(job, planned, tstatus.uidnext)
        if work.in_doubt is not None:
            removed = await remove_late_copies(ctx.target, target_name, ledger, work.in_doubt)
        lost = sorted(uid for uid in wanted if uid not in tally.received)
        complete = not lost
        copied, copied_bytes = tally.copied, tally.bytes
        skipped += tally.skipped
    scope = scope_text(ctx.options.received)
    ledger.checkpoint(work.status, tstatus.uidvalidity, complete=complete, scope=scope)
    problems, missing = await _account(ctx, work, plan, skipped, lost)
    result = FolderResult(
        source_folder=name,
        target_folder=target_name,
        items=work.status.messages,
        copied=copied,
        bytes_copied=copied_bytes,
        already_present=before,
        adopted=work.adopted,
        skipped=len(skipped),
        deleted=len(plan.deleted),
        flags_updated=len(plan.flag_updates),
        forgotten=len(plan.forgets),
        unkept_flags=plan.unkept_flags,
        note=work.mapping.note,
        filtered=len(plan.filtered),
        late_copies_removed=removed,
        error="; ".join(problems) or None,
        missing=missing,
    )
    return result, skipped


async def _account(
    ctx: Context, work: Prepared, plan: FolderPlan, skipped: Sequence[SkippedItem], lost: list[int]
) -> tuple[list[str], int]:
    """The completeness check of one folder after its copy: every planned copy came
    back from the source; a full listing's every message is a pair, a skipped item, or
    filtered out; and the target folder holds at least the copies the pairs record (the
    cross-check that catches what the bookkeeping missed). Returns the problems found
    and how many messages they leave unaccounted for."""
    problems: list[str] = []
    missing = len(lost)
    if lost:
        shown = ", ".join(map(str, lost[:10])) + (" ..." if len(lost) > 10 else "")
        problems.append(
            f"{len(lost)} message(s) requested from the source never came back (UID {shown})"
        )
    if ctx.options.dry_run:
        return problems, missing
    done = len(work.ledger.done)
    if work.listed is not None:
        accounted = done + len(work.ledger.pending) + len(skipped) + len(plan.filtered) + len(lost)
        if accounted != work.listed:
            gap = work.listed - accounted
            problems.append(
                f"{abs(gap)} of {work.listed} listed message(s) "
                f"{'unaccounted for' if gap > 0 else 'counted twice'} by the bookkeeping"
            )
            missing += max(0, gap)
    found = await ctx.target.folder_status(work.mapping.target_name)
    if found.messages < done:
        problems.append(
            f"the target folder {work.mapping.target_name!r} holds {found.messages} message(s) "
            f"where {done} were recorded as copied (the next sync re-validates it)"
        )
        missing += done - found.messages
    return problems, missing


def _prune_skipped(
    ctx: Context, work: Prepared, plan: FolderPlan, found: Sequence[SkippedItem]
) -> None:
    """Keep the folder's skipped items true: a full listing re-derived all of them (the
    rest, for messages since gone or copied, are forgotten); otherwise those of messages
    about to be copied are (a refused copy is recorded again by the copier)."""
    name = work.mapping.source_name
    if work.listed is not None:
        keep = {(item.source_uid, item.kind) for item in found if item.source_uid is not None}
        ctx.state.drop_skipped(ctx.mailbox_id, name, keep=keep)
    elif plan.copies:
        ctx.state.drop_skipped(ctx.mailbox_id, name, uids=[copy.meta.uid for copy in plan.copies])


async def _forget(ctx: Context, work: Prepared, plan: FolderPlan) -> None:
    doomed = [f.target_uid for f in plan.forgets if f.delete_on_target and f.target_uid]
    if doomed and not ctx.options.dry_run:
        await ctx.target.delete(work.mapping.target_name, doomed)
    work.ledger.drop([f.source_uid for f in plan.forgets])


async def _set_flags(ctx: Context, work: Prepared, plan: FolderPlan) -> None:
    updates = list(plan.flag_updates)
    for start in range(0, len(updates), _FLAG_CHUNK):
        chunk = updates[start : start + _FLAG_CHUNK]
        if not ctx.options.dry_run:
            changes = {u.target_uid: u.flags for u in chunk}
            await ctx.target.set_flags(work.mapping.target_name, changes)
        work.ledger.set_flags({u.source_uid: u.flags for u in chunk})


async def _skipped_items(ctx: Context, folder: str, skips: Sequence[Skip]) -> list[SkippedItem]:
    """Skipped items decided from the listing; subject and sender come from the
    header fields alone (the message itself is never downloaded)."""
    if not skips:
        return []
    raw = await ctx.source.headers(folder, [skip.meta.uid for skip in skips])
    items = []
    for skip in skips:
        meta = skip.meta
        summary = read_headers(raw.get(meta.uid, b"") + b"\r\n\r\n")
        items.append(SkippedItem(folder, meta.uid, skip.kind, summary.subject, summary.sender,
                                 meta.internaldate, meta.size, skip.reason))  # fmt: skip
    return items


def unchanged_result(work: Prepared) -> FolderResult:
    """The result of a folder the no-op check found unchanged."""
    return FolderResult(
        source_folder=work.mapping.source_name,
        target_folder=work.mapping.target_name,
        items=work.status.messages,
        already_present=work.done_count,
        unchanged=True,
        note=work.mapping.note,
    )


def failed_result(
    mapping: FolderMapping, error: FolderError, work: Prepared | None = None, *, skipped: int = 0
) -> FolderResult:
    """A folder that failed; once its STATUS is known (``work``, or a PrepareFailed), it
    still counts its source messages and the copies already made (so a user's totals
    don't shrink by the whole folder), and the rest, less its ``skipped`` items, as
    missing (filtered ones too: the folder failed before it could tell them apart)."""
    result = FolderResult(mapping.source_name, mapping.target_name, note=mapping.note)
    if work is not None:
        result = replace(result, items=work.status.messages, already_present=len(work.ledger.done))
    elif isinstance(error, PrepareFailed):
        result = replace(result, items=error.messages, already_present=error.done)
    missing = max(0, result.items - result.already_present - skipped)
    return replace(result, error=error.reason, missing=missing)
