"""One user's migration from a source store to a target store (engine.md rules 1–7).

:func:`sync_mailbox` maps the folders, then works in two passes:

1. every mapped folder is prepared (:func:`.folder_sync.prepare`): pending pairs
   reconciled, the no-op check (one STATUS per unchanged folder), listing,
   UIDVALIDITY re-validation, adoption, a plan;
2. the mailbox-wide ItemLimit is applied across folders (the newest items are
   kept), the totals are announced (:class:`MailboxStarted`), and each changed
   folder is executed (forget, flags, skips, copies, checkpoint).

A :class:`FolderError` skips its folder (reported in the result); any other
error fails the user and propagates. The state is consistent after any error or
cancellation: the next run resumes from it. StateStore calls are synchronous;
each is one short transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from mailferry.engine.folder_scope import missing_root, root_paths, scope, split_loose
from mailferry.engine.folder_sync import (
    Context,
    Prepared,
    execute,
    failed_result,
    prepare,
    replan,
    unchanged_result,
)
from mailferry.engine.folder_types import FolderOptions, FolderPlan, SourceFolder, TargetLayout
from mailferry.engine.folders import plan_folders
from mailferry.engine.gmail_sync import gmail_folder_options, skip_duplicate_labels
from mailferry.engine.planner import items_over_limit
from mailferry.engine.special_folders import (
    SpecialUse,
    special_use_from_attributes,
    special_use_from_name,
)
from mailferry.errors import FolderError, MailferryError, UserError
from mailferry.stores.base import FolderListing, SourceMailbox, TargetMailbox
from mailferry.values.progress import (
    FolderFinished,
    MailboxFinished,
    MailboxStarted,
    ProgressEvent,
)
from mailferry.values.results import FolderResult, MailboxResult, SkippedItem
from mailferry.values.sync_options import SyncOptions

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


async def sync_mailbox(
    source: SourceMailbox,
    target: TargetMailbox,
    state: StateStore,
    mailbox_key: str,
    *,
    folder_options: FolderOptions,
    options: SyncOptions,
    progress: Callable[[ProgressEvent], None] | None = None,
    target_layout: TargetLayout | None = None,
    more_sessions: SessionOpener | None = None,
    connections: int = 1,
) -> MailboxResult:
    """Copy what is new, update what changed, resume what a crash interrupted.

    The caller opens and closes both stores and the state; ``mailbox_key`` names
    this migration in the state (see engine.md). Progress goes to ``progress``.

    ``target_layout`` gives the target's naming limits (default: its delimiter and
    case sensitivity with Dovecot's limits); its special folders are completed
    from the target's own folder list.

    With ``connections`` > 1 and ``more_sessions`` (opens one more source/target
    session pair), changed folders are copied in parallel, one folder per session
    pair: each folder's pairs and checkpoint are its own, so this is as safe as
    the sequential order. The no-op check and planning stay on the first pair.
    """
    started = time.monotonic()
    emit = progress or _ignore
    options = target_size_limit(options, target_layout)
    ctx = Context(source, target, state, state.mailbox_id(mailbox_key), options, emit)
    folder_options = gmail_folder_options(source, options, folder_options)
    folder_plan = await map_folders(source, target, folder_options, target_layout)
    results: dict[str, FolderResult] = {}
    prepared = await _prepare_all(ctx, folder_plan, results)
    if folder_options.gmail_source:
        await skip_duplicate_labels(source, options, folder_plan, prepared, state)
    _apply_item_limit(options, prepared)
    for planned in prepared:  # planned for good: the listings are no longer needed
        planned.metas, planned.present = {}, set()
    emit(_announce(prepared))
    skipped_items: list[SkippedItem] = []
    changed = [w for w in prepared if not w.unchanged]
    done_in_parallel: set[str] = set()
    if connections > 1 and len(changed) > 1 and more_sessions is not None:
        await _run_parallel(ctx, changed, skipped_items, results, more_sessions, connections)
        done_in_parallel = {w.mapping.source_name for w in changed}
    works = {work.mapping.source_name: work for work in prepared}
    for mapping in folder_plan.mappings:
        work = works.get(mapping.source_name)
        if work is not None and mapping.source_name not in done_in_parallel:
            results[mapping.source_name] = await _run_folder(ctx, work, skipped_items)
        if mapping.source_name not in done_in_parallel:
            emit(FolderFinished(results[mapping.source_name]))
    outcome = MailboxResult(
        folders=tuple(results[m.source_name] for m in folder_plan.mappings),
        skipped_items=tuple(skipped_items),
        skipped_folders=folder_plan.skipped,
        duration=time.monotonic() - started,
        dry_run=options.dry_run,
        skipped_total=_skipped_total(ctx, skipped_items, set(results)),
    )
    emit(MailboxFinished(outcome))
    return outcome


SessionOpener = Callable[[], Awaitable[tuple[SourceMailbox, TargetMailbox]]]


def _announce(prepared: Sequence[Prepared]) -> MailboxStarted:
    """The totals to copy (computed here so no list of the plans outlives this call)."""
    plans = [w.plan for w in prepared if w.plan is not None]
    return MailboxStarted(
        sum(len(p.copies) for p in plans), sum(p.copy_bytes for p in plans), len(plans)
    )


async def _run_parallel(
    ctx: Context,
    works: list[Prepared],
    skipped: list[SkippedItem],
    results: dict[str, FolderResult],
    more_sessions: SessionOpener,
    connections: int,
) -> None:
    """Copy ``works`` folder by folder over up to ``connections`` session pairs."""
    queue = list(reversed(works))
    extra: list[tuple[SourceMailbox, TargetMailbox]] = []

    async def worker(worker_ctx: Context) -> None:
        while queue:
            work = queue.pop()
            result = await _run_folder(worker_ctx, work, skipped)
            results[work.mapping.source_name] = result
            ctx.emit(FolderFinished(result))

    try:
        for _ in range(min(connections, len(works)) - 1):
            extra.append(await more_sessions())
        contexts = [ctx, *(replace(ctx, source=s, target=t) for s, t in extra)]
        await asyncio.gather(*(worker(c) for c in contexts))
    finally:
        for source, target in extra:
            for store in (source, target):
                with contextlib.suppress(MailferryError, OSError):
                    await store.close()


async def _prepare_all(
    ctx: Context, folder_plan: FolderPlan, failed: dict[str, FolderResult]
) -> list[Prepared]:
    """Step one for every folder; the ones that fail go to ``failed``."""
    prepared: list[Prepared] = []
    for mapping in folder_plan.mappings:
        try:
            prepared.append(await prepare(ctx, mapping))
        except FolderError as error:
            skipped = _skipped_in(ctx, mapping.source_name)
            failed[mapping.source_name] = failed_result(mapping, error, skipped=skipped)
    return prepared


async def _run_folder(ctx: Context, work: Prepared, skipped: list[SkippedItem]) -> FolderResult:
    if work.unchanged:
        return unchanged_result(work)
    try:
        result, found = await execute(ctx, work)
    except FolderError as error:
        in_folder = _skipped_in(ctx, work.mapping.source_name)
        return failed_result(work.mapping, error, work, skipped=in_folder)
    skipped.extend(found)
    return result


def _skipped_in(ctx: Context, folder: str) -> int:
    """Message-level skipped items the state holds for one folder (failure path only)."""
    items = ctx.state.skipped(ctx.mailbox_id)
    return sum(1 for item in items if item.folder == folder and item.source_uid is not None)


def _skipped_total(ctx: Context, found: Sequence[SkippedItem], folders: set[str]) -> int:
    """Every message-level skipped item of the mailbox's mapped ``folders`` after this
    sync (not those of a folder since renamed, deleted or excluded: its messages are no
    longer in scope). A dry run records nothing: what it found is all it can count."""
    if ctx.options.dry_run:
        return sum(1 for item in found if item.source_uid is not None)
    return ctx.state.skipped_count(ctx.mailbox_id, folders)


def _apply_item_limit(options: SyncOptions, prepared: Sequence[Prepared]) -> None:
    """Re-plan the folders whose copies go beyond the mailbox's item limit."""
    plans = {w.mapping.source_name: (w, w.plan) for w in prepared if w.plan is not None}
    candidates = {name: [c.meta for c in plan.copies] for name, (_, plan) in plans.items()}
    forgotten = sum(len(plan.forgets) for _, plan in plans.values())
    paired = sum(len(w.ledger.done) + w.done_count for w in prepared) - forgotten
    over = items_over_limit(candidates, paired, options.max_items)
    for name, (work, _) in plans.items():
        if over[name]:
            work.plan = replan(options, work, over[name])


async def map_folders(
    source: SourceMailbox,
    target: TargetMailbox,
    options: FolderOptions,
    layout: TargetLayout | None = None,
) -> FolderPlan:
    """List both sides and map the source folders onto the target (engine.folders),
    under the target's personal prefix (its NAMESPACE, e.g. ``INBOX.``) if it has one.

    With a UserRoot the source's shared namespaces are listed too (Courier's virtual
    shared folders); a UserRoot no source folder is at or under raises ``UserError``
    saying what the source has nearest to it."""
    listed = await source.list_folders()
    if options.personal_prefix is None and options.user_root is None:
        prefix = await source.personal_prefix()
        if prefix is not None:
            options = replace(options, personal_prefix=prefix)
    if split_loose(options.user_root or "", "/"):
        listed, options = await _with_shared_folders(source, listed, options)
    base = layout or TargetLayout(target.delimiter, case_insensitive=target.case_insensitive)
    if base.delimiter != target.delimiter:  # a preset's layout, made before the login
        base = replace(base, delimiter=target.delimiter)
    target_prefix = base.personal_prefix or target.personal_prefix
    specials = target_special_folders(await target.list_folders(), target.delimiter, target_prefix)
    merged = {**base.special_folders, **specials}
    layout = replace(base, special_folders=merged, personal_prefix=target_prefix)
    folders = [SourceFolder(f.name, f.delimiter, f.attributes) for f in listed]
    missing = missing_root(folders, options.user_root, options.namespace_prefixes)
    if missing is not None:
        raise UserError(missing)
    return plan_folders(folders, layout, options)


async def _with_shared_folders(
    source: SourceMailbox, listed: list[FolderListing], options: FolderOptions
) -> tuple[list[FolderListing], FolderOptions]:
    """A UserRoot the plain LIST does not show is looked for in the source's shared
    namespaces (Courier's virtual shared folders): first only where its spellings
    may be, so an admin's thousands of users are not listed for each of them."""
    plain = [SourceFolder(f.name, f.delimiter, f.attributes) for f in listed]
    if scope(plain, options.user_root)[0]:
        return listed, options
    spellings = [*root_paths(options.user_root, ".", ()), *root_paths(options.user_root, "/", ())]
    shared = await source.shared_folders(list(dict.fromkeys(spellings)))
    return [*listed, *shared.folders], replace(options, namespace_prefixes=shared.prefixes)


def target_size_limit(options: SyncOptions, layout: TargetLayout | None) -> SyncOptions:
    """``options`` with the target's message size limit when it is the smaller one."""
    limit = None if layout is None else layout.max_message_bytes
    if limit is None or limit >= options.max_message_size:
        return options
    assert layout is not None
    where = f"the target preset {layout.limits_from}" if layout.limits_from else "the target"
    return replace(options, max_message_size=limit, size_limit_from=where)


def target_special_folders(
    listed: Sequence[FolderListing], delimiter: str, prefix: str = ""
) -> dict[SpecialUse, str]:
    """The target's own Sent/Trash/... folders: by SPECIAL-USE attribute, else by a
    well-known name at the top level (the best-ranked name wins). With a personal
    ``prefix`` (``INBOX.``) only folders under it count, named without it (``Sent``)."""
    found: dict[SpecialUse, str] = {}
    ranked: dict[SpecialUse, tuple[int, str]] = {}
    for folder in sorted(listed, key=lambda f: f.name):
        name = folder.name[len(prefix) :] if folder.name.startswith(prefix) else ""
        if not name:
            continue
        kind = special_use_from_attributes(folder.attributes)
        if kind is not None and kind is not SpecialUse.INBOX:
            found.setdefault(kind, name)
            continue
        if delimiter in name or not folder.selectable:
            continue
        by_name = special_use_from_name(name)
        if by_name is not None and by_name[0] is not SpecialUse.INBOX:
            kind, rank = by_name
            if kind not in ranked or rank < ranked[kind][0]:
                ranked[kind] = (rank, name)
    for kind, (_, name) in ranked.items():
        found.setdefault(kind, name)
    return found


def _ignore(_event: ProgressEvent) -> None:
    return None
