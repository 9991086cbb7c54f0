"""The write hook: every write is one transaction, and a hook that raises loses exactly
that write (a crash just before COMMIT)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, func, select

from mailferry.state import StateStore
from mailferry.state.schema import message_pairs

from .factories import intent, intents, skipped


class Crash(Exception):
    pass


def crash_on(n: int, calls: list[str]) -> Callable[[str], None]:
    def hook(operation: str) -> None:
        calls.append(operation)
        if len(calls) == n:
            raise Crash(operation)

    return hook


@pytest.mark.parametrize("n", [1, 2, 5])
def test_crash_at_the_nth_write_keeps_exactly_the_first_n_minus_1(
    store: StateStore, n: int
) -> None:
    folder = store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX").id
    calls: list[str] = []
    store.write_hook = crash_on(n, calls)
    with pytest.raises(Crash):
        for uid in range(1, 11):  # ten writes, each adding exactly one pair
            store.record_intent(folder, [intent(uid)])
    store.write_hook = None
    assert [p.source_uid for p in store.pairs(folder)] == list(range(1, n))
    assert calls == ["record_intent"] * n


def test_crash_across_kinds_of_writes(store: StateStore) -> None:
    """Mixed writes: the 4th (record_outcome) is lost, the first three are kept."""
    calls: list[str] = []
    store.write_hook = crash_on(4, calls)
    mailbox = store.mailbox_id("m")
    folder = store.upsert_folder(mailbox, "INBOX", "INBOX").id
    store.record_intent(folder, [intent(1)])
    with pytest.raises(Crash):
        store.record_outcome(folder, {1: 77})
    store.write_hook = None
    assert calls == ["mailbox_id", "upsert_folder", "record_intent", "record_outcome"]
    assert [(p.state, p.target_uid) for p in store.pairs(folder)] == [("pending", None)]


def test_hook_names_each_write(store: StateStore) -> None:
    calls: list[str] = []
    store.write_hook = calls.append
    mailbox = store.mailbox_id("m")
    store.mailbox_id("m")  # exists: a read, no write
    folder = store.upsert_folder(mailbox, "INBOX", "INBOX").id
    store.save_checkpoint(
        folder,
        source_uidvalidity=1,
        source_uidnext=2,
        source_highestmodseq=None,
        source_messages=1,
        target_uidvalidity=1,
    )
    store.record_intent(folder, [intent(1), intent(2)])
    store.record_outcome(folder, {1: 1})
    store.update_flags(folder, {1: ()})
    store.remap_source_uids(folder, {1: 5})
    store.drop_pairs(folder, [2])
    store.record_skipped(mailbox, [skipped(1)])
    store.record_intent(folder, [])  # nothing to write: no transaction, no hook
    store.delete_mailbox(mailbox)
    assert calls == [
        "mailbox_id",
        "upsert_folder",
        "save_checkpoint",
        "record_intent",
        "record_outcome",
        "update_flags",
        "remap_source_uids",
        "drop_pairs",
        "record_skipped",
        "delete_mailbox",
    ]


def test_hook_runs_before_commit(store: StateStore, db_url: str) -> None:
    """Inside the hook, another connection does not see the write yet; after it, it does."""
    folder = store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX").id
    observer = create_engine(db_url)
    count = select(func.count()).select_from(message_pairs)
    seen: list[int] = []

    def hook(_operation: str) -> None:
        with observer.connect() as connection:
            seen.append(connection.execute(count).scalar_one())

    store.write_hook = hook
    store.record_intent(folder, [intent(1)])
    with observer.connect() as connection:
        seen.append(connection.execute(count).scalar_one())
    observer.dispose()
    assert seen == [0, 1]


def test_store_is_usable_after_a_crashed_write(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    store.write_hook = crash_on(1, [])
    with pytest.raises(Crash):
        store.record_skipped(mailbox, [skipped(1)])
    store.write_hook = None
    assert store.skipped(mailbox) == []
    store.record_skipped(mailbox, [skipped(1)])
    assert store.skipped(mailbox) == [skipped(1)]


BATCH = 50


def _write_batches_until_killed(url: str, folder: int, reports: object) -> None:
    with StateStore.open(url) as store:
        for first in range(1, 400 * BATCH, BATCH):
            store.record_intent(folder, intents(first, BATCH))
            reports.put(first + BATCH - 1)  # type: ignore[attr-defined]


def test_a_killed_writer_loses_no_committed_batch_and_leaves_no_partial_one(
    store: StateStore, db_url: str
) -> None:
    folder = store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX").id
    context = multiprocessing.get_context("fork")
    reports = context.Queue()
    writer = context.Process(target=_write_batches_until_killed, args=(db_url, folder, reports))
    writer.start()
    committed = [reports.get(timeout=60) for _ in range(5)]
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(30)
    while not reports.empty():
        committed.append(reports.get(timeout=5))
    count = len(store.pairs(folder))
    assert count >= max(committed)  # every reported commit survived the kill
    assert count % BATCH == 0  # and the batch in flight is all or nothing
