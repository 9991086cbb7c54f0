"""The planner under a content filter: messages outside the window are filtered before
any other decision, already-copied pairs are never dropped because of it, and the
mailbox's ItemLimit counts only what the window admits."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from mailferry.engine.planner import (
    ITEM_LIMIT,
    FolderPlan,
    Forget,
    SetFlags,
    items_over_limit,
    plan_folder,
)
from mailferry.state.records import DONE, PairRecord
from mailferry.stores.base import MessageMeta
from mailferry.values.content_filter import parse_content_filter
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import open_state, sync

UTC = dt.UTC
WINDOW = parse_content_filter("Received -ge '2020-01-01' -and Received -lt '2021-01-01'")
FILTERED = SyncOptions(received=WINDOW, max_message_size=1000)


def meta(uid: int, year: int, *, size: int = 100, flags: tuple[str, ...] = ()) -> MessageMeta:
    return MessageMeta(uid, size, flags, dt.datetime(year, 6, 1, tzinfo=UTC) + dt.timedelta(uid))


def pair(uid: int, flags: tuple[str, ...] = ()) -> PairRecord:
    date = dt.datetime(2019, 1, 1, tzinfo=UTC)
    return PairRecord(uid, uid + 100, DONE, f"fp{uid}", 100, date, flags, None)


def plan(
    metas: list[MessageMeta],
    pairs: list[PairRecord] | None = None,
    present: set[int] | None = None,
    **kwargs: Any,
) -> FolderPlan:
    by_uid = {m.uid: m for m in metas}
    uids = set(by_uid) if present is None else present
    return plan_folder(uids, by_uid, pairs or [], keeps=lambda _f: True, **kwargs)


def test_messages_outside_the_window_are_filtered_before_anything_else() -> None:
    metas = [
        meta(1, 2019),  # too old
        meta(2, 2020),  # in
        meta(3, 2021),  # too new
        meta(4, 2019, size=5000),  # too old, and would be a LargeItem
        meta(5, 2019, flags=("\\Deleted",)),  # too old, and \Deleted
        meta(6, 2020, size=5000),  # in, a LargeItem
        meta(7, 2020, flags=("\\Deleted",)),  # in, \Deleted
    ]
    result = plan(metas, options=FILTERED)
    assert result.filtered == (1, 3, 4, 5)
    assert [c.meta.uid for c in result.copies] == [2]
    assert sorted((s.meta.uid, s.kind) for s in result.skips) == [(6, "LargeItem"), (7, "Deleted")]
    assert result.deleted == (7,)
    unfiltered = plan(metas, options=SyncOptions(max_message_size=1000))
    assert unfiltered.filtered == () and len(unfiltered.copies) == 3


def test_copied_pairs_outside_the_window_keep_their_flags_in_step_and_are_never_forgotten() -> None:
    metas = [meta(1, 2019, flags=("\\Seen",)), meta(2, 2019), meta(3, 2020)]
    pairs = [pair(1), pair(2)]  # copied by an earlier run under a broader filter (or none)
    result = plan(metas, pairs, options=FILTERED)
    assert result.flag_updates == (SetFlags(1, 101, ("\\Seen",)),)
    assert result.forgets == ()
    assert result.filtered == ()  # paired messages are not "filtered": they are there
    assert [c.meta.uid for c in result.copies] == [3]
    gone = plan(metas[1:], pairs, options=FILTERED)  # UID 1 expunged on the source
    assert gone.forgets == (Forget(1, 101, False),)


def test_an_incremental_listing_filters_only_what_it_lists() -> None:
    present = {1, 2, 3}
    result = plan([meta(3, 2019)], [pair(1), pair(2)], present=present, options=FILTERED)
    assert result.filtered == (3,) and result.forgets == () and result.copies == ()


def test_item_limit_counts_only_admitted_messages() -> None:
    """items_over_limit gets the plan's copies: old mail outside the window (the newest
    being the newest overall, too) takes no room under the limit."""
    metas = [meta(uid, 2021 if uid > 6 else 2020) for uid in range(1, 10)]
    planned = plan(metas, options=FILTERED)
    over = items_over_limit({"INBOX": [c.meta for c in planned.copies]}, 0, 4)
    assert sorted(planned.filtered) == [7, 8, 9]
    assert over == {"INBOX": {1, 2}}  # the 4 newest admitted: 3..6
    replanned = plan(metas, options=FILTERED, over_limit=over["INBOX"])
    assert sorted(s.meta.uid for s in replanned.skips if s.kind == ITEM_LIMIT) == [1, 2]
    assert sorted(c.meta.uid for c in replanned.copies) == [3, 4, 5, 6]


def test_a_sync_reports_filtered_per_folder_and_keeps_the_newest_admitted(tmp_path: Path) -> None:
    source = MemorySource()
    for name in ("INBOX", "Archive"):
        source.add_folder(name)
    dates = {"INBOX": (2019, 2020, 2020, 2022), "Archive": (2018, 2020, 2020)}
    for folder, years in dates.items():
        for n, year in enumerate(years):
            when = dt.datetime(year, 3, 1 + n, tzinfo=UTC)
            source.add(folder, make_message(f"{folder} {n}", f"<{folder}{n}@x>"), [], when)
    options = SyncOptions(received=WINDOW, max_items=3, batch_linger=0)

    async def main() -> None:
        target = MemoryTarget()
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options)
        folders = {f.source_folder: f for f in result.folders}
        assert (folders["INBOX"].filtered, folders["Archive"].filtered) == (2, 1)
        assert result.filtered == 3
        assert (result.copied, result.skipped) == (3, 1)  # 4 admitted, limit 3
        (item,) = result.skipped_items
        assert item.kind == ITEM_LIMIT and item.date == dt.datetime(2020, 3, 2, tzinfo=UTC)

    asyncio.run(main())
