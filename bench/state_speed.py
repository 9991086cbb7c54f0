"""Speed of the state database's hot paths (prints figures; not a test).

Records N pairs as the engine does (record_intent then record_outcome in batches of 500,
each one transaction), then times ``pairs(folder_id)``, a 500-pair ``update_flags``, a
full ``remap_source_uids`` and ``drop_pairs``.
Run: ``python bench/state_speed.py [pairs] [database-url]`` (default: 100,000 pairs in a
temporary SQLite file; a PostgreSQL URL needs an existing, empty database).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mailferry.state import PairIntent, StateStore

BATCH = 500


def timed(label: str, fn: Callable[[], object], count: int | None = None) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    rate = f"  ({count / seconds:,.0f}/s)" if count else ""
    print(f"{label:<46} {seconds * 1000:9.1f} ms{rate}")
    return seconds


def intents(first: int, count: int) -> list[PairIntent]:
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return [
        PairIntent(
            source_uid=uid,
            fingerprint=f"{uid:032x}",
            size=1000 + uid,
            internaldate=base + dt.timedelta(seconds=uid),
            flags=("\\Seen", "$Label1") if uid % 3 else ("\\Seen",),
            target_uidnext_before=first,
        )
        for uid in range(first, first + count)
    ]


def run(store: StateStore, total: int) -> None:
    mailbox = store.mailbox_id(f"bench-{time.time_ns()}")
    folder = store.upsert_folder(mailbox, "INBOX", "INBOX").id
    batches = [
        intents(first, min(BATCH, total - first + 1)) for first in range(1, total + 1, BATCH)
    ]

    def record_all() -> None:
        for batch in batches:
            store.record_intent(folder, batch)
            store.record_outcome(folder, {i.source_uid: i.source_uid + 7 for i in batch})

    seconds = timed(f"record_intent+outcome, {total:,} pairs", record_all, total)
    mean_ms = seconds / len(batches) * 1000
    print(f"{'  one batch of 500 (intent + outcome), mean':<46} {mean_ms:9.1f} ms")
    best = min(
        timed(f"pairs(), {total:,} pairs, run {n}", lambda: store.pairs(folder)) for n in (1, 2, 3)
    )
    print(f"{'pairs() best':<46} {best * 1000:9.1f} ms  ({total / best:,.0f} pairs/s)")
    assert len(store.pairs(folder)) == total
    flags = {uid: ("\\Answered", "\\Seen") for uid in range(1, min(BATCH, total) + 1)}
    timed("update_flags, 500 pairs", lambda: store.update_flags(folder, flags), len(flags))
    mapping = {uid: uid + total for uid in range(1, total + 1)}
    timed(
        f"remap_source_uids, {total:,} pairs",
        lambda: store.remap_source_uids(folder, mapping),
        total,
    )
    drop = list(range(total + 1, total + min(BATCH, total) + 1))
    timed("drop_pairs, 500 pairs", lambda: store.drop_pairs(folder, drop), len(drop))
    timed("delete_mailbox", lambda: store.delete_mailbox(mailbox))


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{Path(tmp) / 'state.db'}"
        print(f"database: {url.split('://')[0]}, pairs: {total:,}")
        with StateStore.open(url) as store:
            run(store, total)


if __name__ == "__main__":
    main()
