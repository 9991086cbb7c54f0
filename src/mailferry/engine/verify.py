"""Source against target, folder by folder: the check behind ``mailferry verify``.

The folders are mapped exactly as the sync maps them (:func:`.sync.map_folders`),
so each source folder is compared with the target folder it migrates to. Per
folder, the source messages the sync would copy (not the ones it skips by
policy: ``Filtered`` outside ``options.received`` (the content filter),
``\\Deleted`` unless ``include_deleted``, ``LargeItem`` by
RFC822.SIZE, ``ItemLimit`` mailbox-wide, newest kept, ``DuplicateLabel`` for a Gmail
source: :mod:`.gmail_labels`) are paired with the
target's messages by their bytes as each store serves them, hashed as the bodies
stream in and closed at once (:mod:`.verify_match`); each pair's flags and
INTERNALDATE are then compared. A target message that pairs with nothing is
tried against the policy-skipped source messages (copied by an earlier run, or
flagged ``\\Deleted`` after its copy) before it is called unexpected.

Nothing is written to either side. A ``FolderError`` is reported on its folder;
any other error fails the user.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mailferry.connection.body import MessageBody
from mailferry.engine.folder_types import FolderMapping, FolderOptions, TargetLayout
from mailferry.engine.gmail_sync import gmail_folder_options, label_duplicates
from mailferry.engine.headers import summarize
from mailferry.engine.planner import (
    DUPLICATE_LABEL,
    ITEM_LIMIT,
    LARGE_ITEM,
    is_deleted,
    items_over_limit,
)
from mailferry.engine.sync import map_folders, target_size_limit
from mailferry.engine.verify_match import Hashed, comparisons, pair_up
from mailferry.errors import FolderError
from mailferry.stores.base import (
    FolderListing,
    MessageMeta,
    SourceMailbox,
    SourceMessage,
    TargetFolderStatus,
    TargetMailbox,
)
from mailferry.values.sync_options import SyncOptions
from mailferry.values.verify_report import (
    DELETED_ITEM,
    FILTERED_ITEM,
    FolderVerification,
    PolicySkip,
    VerifyReport,
)

A = TypeVar("A")
B = TypeVar("B")
Fetch = Callable[[str, Sequence[int]], AsyncIterator[SourceMessage]]
SUBJECT_CHARS = 200  # a report names messages; it need not hold whole subjects


@dataclass(frozen=True)
class _Context:
    source: SourceMailbox
    target: TargetMailbox
    options: SyncOptions


@dataclass(frozen=True)
class _Side:
    """One side of a folder, read: the target's status (None: no such folder) and messages."""

    status: TargetFolderStatus | None
    messages: list[Hashed]


async def verify_mailbox(
    source: SourceMailbox,
    target: TargetMailbox,
    *,
    folder_options: FolderOptions,
    options: SyncOptions,
    target_layout: TargetLayout | None = None,
) -> VerifyReport:
    """Compare every mapped folder of one user's source and target."""
    started = time.monotonic()
    options = target_size_limit(options, target_layout)
    folder_options = gmail_folder_options(source, options, folder_options)
    plan = await map_folders(source, target, folder_options, target_layout)
    existing = _names(await target.list_folders(), target.case_insensitive)
    listings: dict[str, list[MessageMeta]] = {}
    failures: dict[str, FolderError] = {}
    for mapping in plan.mappings:
        try:
            listings[mapping.source_name] = (await source.list_messages(mapping.source_name))[1]
        except FolderError as error:
            failures[mapping.source_name] = error
    candidates = {name: _candidates(metas, options) for name, metas in listings.items()}
    dups: dict[str, dict[int, str]] = {}
    if folder_options.gmail_source:  # a Gmail message is expected once (gmail_labels)
        dups = await label_duplicates(source, options, plan, candidates)
        candidates = {
            n: [m for m in c if m.uid not in dups.get(n, {})] for n, c in candidates.items()
        }
    over = items_over_limit(candidates, 0, options.max_items)
    ctx = _Context(source, target, options)
    folders: list[FolderVerification] = []
    for mapping in plan.mappings:
        name = mapping.source_name
        failure = failures.get(name)
        if failure is None:
            exists = _fold(mapping.target_name, target.case_insensitive) in existing
            try:
                folders.append(
                    await _verify_folder(
                        ctx, mapping, listings[name], over[name], exists, dups.get(name, {})
                    )
                )
                continue
            except FolderError as error:
                failure = error
        folders.append(FolderVerification(name, mapping.target_name, error=failure.reason))
    return VerifyReport(tuple(folders), plan.skipped, time.monotonic() - started)


async def _verify_folder(
    ctx: _Context,
    mapping: FolderMapping,
    metas: list[MessageMeta],
    over_limit: set[int],
    exists: bool,
    duplicates: Collection[int] = (),
) -> FolderVerification:
    options, fetch, folder = ctx.options, ctx.source.fetch, mapping.source_name
    expected, skips = _policy(metas, over_limit, options, duplicates)
    chunk = options.fetch_chunk
    source_side, target_side = await _both(
        _read(fetch, folder, [m.uid for m in expected], chunk),
        _read_target(ctx.target, mapping.target_name, exists, chunk),
    )
    pairs, missing, lone = pair_up(source_side, target_side.messages)
    if lone and skips:
        extra = await _read(fetch, folder, [skip.uid for skip in skips], chunk)
        found, _, lone = pair_up(extra, lone)
        present = {pair[0].meta.uid for pair in found}
        skips = [_on_target(skip, skip.uid in present) for skip in skips]
    status = target_side.status
    keeps = status.keeps if status is not None else _keeps_all
    flags, dates = comparisons(pairs, keeps, include_deleted=options.include_deleted)
    return FolderVerification(
        source_folder=folder,
        target_folder=mapping.target_name,
        source_count=len(metas),
        expected=len(source_side),
        target_count=len(target_side.messages),
        missing=tuple(m.ref() for m in missing),
        unexpected=tuple(m.ref() for m in lone),
        flag_mismatches=flags,
        date_mismatches=dates,
        policy_skipped=tuple(skips),
        expected_bytes=sum(m.size for m in source_side),
        target_bytes=sum(m.size for m in target_side.messages),
        target_exists=exists,
    )


def _policy(
    metas: Sequence[MessageMeta],
    over_limit: set[int],
    options: SyncOptions,
    duplicates: Collection[int] = (),
) -> tuple[list[MessageMeta], list[PolicySkip]]:
    """(messages the sync copies, messages it skips by policy), as the planner decides."""
    expected: list[MessageMeta] = []
    skips: list[PolicySkip] = []
    window = options.received
    for meta in metas:
        if window is not None and not window.admits(meta.internaldate):
            kind = FILTERED_ITEM
        elif is_deleted(meta) and not options.include_deleted:
            kind = DELETED_ITEM
        elif meta.size > options.max_message_size:
            kind = LARGE_ITEM
        elif meta.uid in duplicates:
            kind = DUPLICATE_LABEL
        elif meta.uid in over_limit:
            kind = ITEM_LIMIT
        else:
            expected.append(meta)
            continue
        skips.append(PolicySkip(meta.uid, kind, meta.size, meta.internaldate))
    return expected, skips


def _candidates(metas: Sequence[MessageMeta], options: SyncOptions) -> list[MessageMeta]:
    """The messages that count against the mailbox's item limit."""
    window = options.received
    return [
        meta
        for meta in metas
        if (window is None or window.admits(meta.internaldate))
        and (options.include_deleted or not is_deleted(meta))
        and meta.size <= options.max_message_size
    ]


def _on_target(skip: PolicySkip, present: bool) -> PolicySkip:
    return PolicySkip(skip.uid, skip.kind, skip.size, skip.internaldate, present)


async def _read_target(target: TargetMailbox, folder: str, exists: bool, chunk: int) -> _Side:
    if not exists:
        return _Side(None, [])
    status, metas = await target.list_messages(folder)
    return _Side(status, await _read(target.fetch, folder, [m.uid for m in metas], chunk))


async def _read(fetch: Fetch, folder: str, uids: Sequence[int], chunk: int) -> list[Hashed]:
    """Hash every message as it arrives; bodies are closed at once, never kept."""
    found: dict[int, Hashed] = {}
    for start in range(0, len(uids), chunk):
        stream = fetch(folder, uids[start : start + chunk])
        try:
            async for message in stream:
                with message.body as body:
                    digest, subject = await _digest(body)
                found[message.meta.uid] = Hashed(message.meta, digest, body.size, subject)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
    return [found[uid] for uid in sorted(found)]


async def _digest(body: MessageBody) -> tuple[str, str | None]:
    """SHA-256 and Subject; a spooled (big) body is hashed off the event loop."""
    if body.spooled:
        return await asyncio.to_thread(_digest_now, body)
    return _digest_now(body)


def _digest_now(body: MessageBody) -> tuple[str, str | None]:
    subject = summarize(body).subject
    return body.sha256(), subject[:SUBJECT_CHARS] or None


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Run both to completion (neither is cut off mid-conversation); then raise the
    first error, if any."""
    one, two = await asyncio.gather(first, second, return_exceptions=True)
    if isinstance(one, BaseException):
        raise one
    if isinstance(two, BaseException):
        raise two
    return one, two


def _names(listed: Sequence[FolderListing], case_insensitive: bool) -> set[str]:
    names = {_fold(folder.name, case_insensitive) for folder in listed if folder.selectable}
    return names | {"INBOX"}


def _fold(name: str, case_insensitive: bool) -> str:
    if name.upper() == "INBOX":
        return "INBOX"
    return name.casefold() if case_insensitive else name


def _keeps_all(_flag: str) -> bool:
    return True
