"""A source said to be Gmail (``--source-kind gmail``) that sends no X-GM-LABELS: All
Mail's messages are matched to the other folders' by fingerprint instead.

Without labels, ``duplicate_labels`` cannot tell an archived message (All Mail alone
holds it) from one that is also in a label folder, and copying All Mail in full would
copy every labelled message twice. Here a message of All Mail whose fingerprint
(Message-ID, size, INTERNALDATE: a server that shows one message in two folders gives
both the same) is also in another folder, planned now or copied before, is a
``DuplicateLabel`` skipped item; the rest (archived mail) is copied as Archive.
Matching is by multiset: two identical messages in All Mail need two elsewhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mailferry.engine.folder_sync import Prepared
from mailferry.engine.folder_types import SourceFolder
from mailferry.engine.gmail_labels import is_all_mail
from mailferry.engine.reconcile import source_fingerprints
from mailferry.state.records import DONE
from mailferry.stores.base import SourceMailbox

if TYPE_CHECKING:
    from mailferry.state.store import StateStore


async def unlabelled_all_mail_duplicates(
    source: SourceMailbox, state: StateStore, prepared: Sequence[Prepared]
) -> dict[str, dict[int, str]]:
    """All Mail's candidate UIDs that another folder holds, with the reason."""
    listed = await source.list_folders()
    all_mail = {f.name for f in listed if is_all_mail(SourceFolder(f.name, f.delimiter,
                                                                    f.attributes))}  # fmt: skip
    archives = [w for w in prepared if w.mapping.source_name in all_mail and _copies(w)]
    if not archives:
        return {}
    elsewhere: Counter[str] = Counter()
    holder: dict[str, str] = {}
    for work in prepared:
        if work.mapping.source_name in all_mail:
            continue
        for fp in await _fingerprints(source, state, work):
            elsewhere[fp] += 1
            holder.setdefault(fp, work.mapping.source_name)
    found: dict[str, dict[int, str]] = {}
    for work in archives:
        name = work.mapping.source_name
        metas = [copy.meta for copy in work.plan.copies] if work.plan is not None else []
        prints = await source_fingerprints(source, name, metas)
        dups: dict[int, str] = {}
        for uid, fp in sorted(prints.items()):
            if elsewhere[fp] > 0:
                elsewhere[fp] -= 1
                dups[uid] = (
                    f"in All Mail and in '{holder[fp]}' (same Message-ID, size and date; the "
                    "server sends no X-GM-LABELS): copied from there"
                )
        if dups:
            found[name] = dups
    return found


def _copies(work: Prepared) -> bool:
    return work.plan is not None and bool(work.plan.copies)


async def _fingerprints(source: SourceMailbox, state: StateStore, work: Prepared) -> list[str]:
    """The folder's messages on the target or about to be: its done pairs and its copies."""
    done = [p.fingerprint for p in state.pairs(work.ledger.record.id) if p.state == DONE] if (
        work.ledger.record.id >= 0
    ) else []  # fmt: skip
    metas = [copy.meta for copy in work.plan.copies] if work.plan is not None else []
    planned = await source_fingerprints(source, work.mapping.source_name, metas)
    return [*done, *planned.values()]
