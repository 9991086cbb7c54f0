"""Message pairs: intent, outcome, flags, drops and UID remapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from mailferry.errors import StateConflict, StateNotFound
from mailferry.state import PairIntent, PairRecord, StateStore

from .factories import intent, intents


@pytest.fixture
def folder_id(store: StateStore) -> int:
    return store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX").id


def by_uid(store: StateStore, folder_id: int) -> dict[int, PairRecord]:
    return {pair.source_uid: pair for pair in store.pairs(folder_id)}


def test_record_intent_inserts_pending_pairs(store: StateStore, folder_id: int) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    written = PairIntent(
        source_uid=2**32 - 1,
        fingerprint="abc",
        size=2**40,
        internaldate=dt.datetime(2023, 5, 6, 9, 30, 15, tzinfo=paris),
        flags=("\\Seen", "$Label1", "\\Answered", "\\Seen"),
        target_uidnext_before=2**32 - 5,
    )
    store.record_intent(folder_id, [written, intent(5)])
    pairs = store.pairs(folder_id)
    assert [p.source_uid for p in pairs] == [5, 2**32 - 1]  # ordered by source UID
    assert pairs[1] == PairRecord(
        source_uid=2**32 - 1,
        target_uid=None,
        state="pending",
        fingerprint="abc",
        size=2**40,
        internaldate=dt.datetime(2023, 5, 6, 7, 30, 15, tzinfo=dt.UTC),
        flags=("$Label1", "\\Answered", "\\Seen"),
        target_uidnext_before=2**32 - 5,
    )
    assert pairs[1].internaldate.tzinfo is not None
    assert pairs[1].internaldate.utcoffset() == dt.timedelta(0)


def test_internaldate_keeps_microseconds_and_old_dates(store: StateStore, folder_id: int) -> None:
    old = dt.datetime(1969, 12, 31, 23, 59, 59, 123456, tzinfo=dt.UTC)
    store.record_intent(folder_id, [PairIntent(1, "f", 1, old, (), None)])
    assert store.pairs(folder_id)[0].internaldate == old


def test_naive_datetimes_are_refused(store: StateStore, folder_id: int) -> None:
    naive = PairIntent(1, "f", 1, dt.datetime(2024, 1, 1), (), None)
    with pytest.raises(ValueError, match="naive datetime"):
        store.record_intent(folder_id, [naive])
    assert store.pairs(folder_id) == []


def test_flags_must_be_atoms(store: StateStore, folder_id: int) -> None:
    with pytest.raises(ValueError):
        store.record_intent(folder_id, [intent(1, flags=("two words",))])


def test_record_outcome_marks_pairs_done(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, intents(1, 3))
    store.record_outcome(folder_id, {1: 501, 2: None})
    pairs = by_uid(store, folder_id)
    assert (pairs[1].state, pairs[1].target_uid) == ("done", 501)
    assert (pairs[2].state, pairs[2].target_uid) == ("done", None)  # no UIDPLUS
    assert (pairs[3].state, pairs[3].target_uid) == ("pending", None)
    assert pairs[1].fingerprint == "fp-1" and pairs[1].target_uidnext_before == 100


def test_record_outcome_for_a_missing_pair_changes_nothing(
    store: StateStore, folder_id: int
) -> None:
    store.record_intent(folder_id, intents(1, 2))
    with pytest.raises(StateNotFound, match="77"):
        store.record_outcome(folder_id, {1: 10, 77: 11})
    assert {p.state for p in store.pairs(folder_id)} == {"pending"}


def test_a_second_intent_for_a_source_uid_is_a_conflict(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, intents(1, 2))
    with pytest.raises(StateConflict):
        store.record_intent(folder_id, [intent(3), intent(2)])
    with pytest.raises(StateConflict):
        store.record_intent(folder_id, [intent(4), intent(4)])
    assert sorted(by_uid(store, folder_id)) == [1, 2]  # the failed batches left nothing


def test_intent_for_an_unknown_folder_raises_not_found(store: StateStore) -> None:
    with pytest.raises(StateNotFound):
        store.record_intent(987654, [intent(1)])


def test_same_source_uid_in_two_folders_is_fine(store: StateStore, folder_id: int) -> None:
    other = store.upsert_folder(store.mailbox_id("m"), "Sent", "Sent").id
    store.record_intent(folder_id, [intent(1)])
    store.record_intent(other, [intent(1)])
    assert len(store.pairs(folder_id)) == len(store.pairs(other)) == 1


def test_drop_pairs_ignores_absent_uids(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, intents(1, 4))
    store.drop_pairs(folder_id, [2, 4, 99])
    assert sorted(by_uid(store, folder_id)) == [1, 3]


def test_update_flags_replaces_the_recorded_flags(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, intents(1, 3))
    store.update_flags(folder_id, {1: ("\\Flagged", "\\Answered"), 2: ()})
    pairs = by_uid(store, folder_id)
    assert pairs[1].flags == ("\\Answered", "\\Flagged")
    assert pairs[2].flags == ()
    assert pairs[3].flags == ("\\Seen",)
    with pytest.raises(StateNotFound):
        store.update_flags(folder_id, {3: ("\\Draft",), 42: ()})
    assert by_uid(store, folder_id)[3].flags == ("\\Seen",)


def test_remap_source_uids_handles_swaps_and_overlaps(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, intents(1, 3))
    store.remap_source_uids(folder_id, {1: 2, 2: 3, 3: 1})
    pairs = by_uid(store, folder_id)
    assert [pairs[uid].fingerprint for uid in (1, 2, 3)] == ["fp-3", "fp-1", "fp-2"]


def test_remap_onto_an_unmapped_pair_is_a_conflict(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, intents(1, 2))
    with pytest.raises(StateConflict):
        store.remap_source_uids(folder_id, {1: 2})
    assert by_uid(store, folder_id)[1].fingerprint == "fp-1"  # rolled back
    with pytest.raises(StateNotFound, match="55"):
        store.remap_source_uids(folder_id, {1: 10, 55: 11})
    assert sorted(by_uid(store, folder_id)) == [1, 2]


def test_empty_inputs_are_no_ops(store: StateStore, folder_id: int) -> None:
    store.record_intent(folder_id, [])
    store.record_outcome(folder_id, {})
    store.update_flags(folder_id, {})
    store.drop_pairs(folder_id, [])
    store.remap_source_uids(folder_id, {})
    assert store.pairs(folder_id) == []


@pytest.fixture
def statements(store: StateStore) -> Iterator[list[tuple[str, bool]]]:
    seen: list[tuple[str, bool]] = []

    def record(*args: Any) -> None:
        _conn, _cursor, sql, _params, _context, executemany = args
        seen.append((sql, executemany))

    event.listen(store.engine, "before_cursor_execute", record)
    yield seen
    event.remove(store.engine, "before_cursor_execute", record)


def test_batches_of_500_take_one_statement_each(
    store: StateStore, folder_id: int, statements: list[tuple[str, bool]]
) -> None:
    batch = intents(1, 500)
    store.record_intent(folder_id, batch)
    store.record_outcome(folder_id, {i.source_uid: i.source_uid + 1000 for i in batch})
    store.update_flags(folder_id, {i.source_uid: ("\\Seen", "\\Flagged") for i in batch})
    touching = [sql for sql, _ in statements if "message_pairs" in sql]
    assert len(touching) == 3
    pairs = store.pairs(folder_id)
    assert len(pairs) == 500
    assert all(p.state == "done" and p.target_uid == p.source_uid + 1000 for p in pairs)
    assert all(p.flags == ("\\Flagged", "\\Seen") for p in pairs)
