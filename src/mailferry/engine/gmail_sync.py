"""Where a Gmail source changes one mailbox sync (the rules: ``engine/gmail_labels``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from mailferry.engine.folder_sync import Prepared, replan
from mailferry.engine.folder_types import FolderOptions, FolderPlan, SourceFolder
from mailferry.engine.gmail_labels import duplicate_labels
from mailferry.engine.gmail_unlabelled import unlabelled_all_mail_duplicates
from mailferry.stores.base import MessageMeta, SourceMailbox
from mailferry.values.sync_options import SyncOptions

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


def is_gmail(source: SourceMailbox, options: SyncOptions) -> bool:
    """``source_kind`` ``gmail``, or ``auto`` and the source offers X-GM-EXT-1."""
    if options.source_kind == "auto":
        return bool(getattr(source, "gmail", False))
    return options.source_kind == "gmail"


def gmail_folder_options(
    source: SourceMailbox, options: SyncOptions, folder_options: FolderOptions
) -> FolderOptions:
    if is_gmail(source, options) and not folder_options.gmail_source:
        return replace(folder_options, gmail_source=True)
    return folder_options


async def label_duplicates(
    source: SourceMailbox,
    options: SyncOptions,
    folder_plan: FolderPlan,
    candidates: Mapping[str, Sequence[MessageMeta]],
) -> dict[str, dict[int, str]]:
    """``duplicate_labels`` of the folders' candidates, with the source's folder list
    (one LIST, only when some candidate carries X-GM-LABELS)."""
    labelled = {
        name: metas
        for name, metas in candidates.items()
        if any(meta.gm_labels is not None for meta in metas)
    }
    if not labelled:
        return {}
    listed = await source.list_folders()
    folders = [SourceFolder(f.name, f.delimiter, f.attributes) for f in listed]
    copy_each = options.gmail_labels == "copy-each"
    return duplicate_labels(labelled, folder_plan.mappings, folders, copy_each=copy_each)


async def skip_duplicate_labels(
    source: SourceMailbox,
    options: SyncOptions,
    folder_plan: FolderPlan,
    prepared: Sequence[Prepared],
    state: StateStore,
) -> None:
    """Re-plan the folders some of whose new messages are copied from another label
    (before the ItemLimit, so duplicates do not count against it). One LIST."""
    candidates = {
        w.mapping.source_name: [c.meta for c in w.plan.copies]
        for w in prepared
        if w.plan is not None
    }
    found = await label_duplicates(source, options, folder_plan, candidates)
    unlabelled = not any(m.gm_labels is not None for metas in candidates.values() for m in metas)
    if unlabelled and options.source_kind == "gmail":  # said to be Gmail, sends no labels
        found = await unlabelled_all_mail_duplicates(source, state, prepared)
    for work in prepared:
        dups = found.get(work.mapping.source_name)
        if dups:
            work.duplicates = dups
            work.plan = replan(options, work, ())
