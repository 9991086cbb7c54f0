"""SQLite's driver-SQL writes store exactly what the SQLAlchemy Core statements would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from mailferry.state import PairIntent, StateStore
from mailferry.state.hot_writes import sqlite_utc_text
from mailferry.state.schema import folders, message_pairs

DATES = [
    dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    dt.datetime(800, 3, 1, 0, 0, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=14))),
]


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore.open(f"sqlite:///{tmp_path}/state.db")


def test_intents_store_the_text_the_column_type_writes(store: StateStore) -> None:
    folder = store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX")
    fast = [PairIntent(uid, "f", 10, date, ("\\Seen",), 3) for uid, date in enumerate(DATES, 1)]
    store.record_intent(folder.id, fast)
    with store.engine.begin() as connection:
        for uid, date in enumerate(DATES, 100):
            row = {
                "folder_id": folder.id,
                "source_uid": uid,
                "state": "pending",
                "fingerprint": "f",
                "size": 10,
                "internaldate": date,
                "flags": "\\Seen",
            }
            connection.execute(insert(message_pairs), row)
        stored = connection.execute(
            text("SELECT source_uid, internaldate FROM message_pairs ORDER BY source_uid")
        ).all()
    texts = [value for _, value in stored]
    assert texts[: len(DATES)] == texts[len(DATES) :] == [sqlite_utc_text(d) for d in DATES]
    assert [p.internaldate for p in store.pairs(folder.id)][: len(DATES)] == DATES


def test_a_naive_date_is_refused(store: StateStore) -> None:
    folder = store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX")
    with pytest.raises(ValueError, match="naive"):
        store.record_intent(folder.id, [PairIntent(1, "f", 1, dt.datetime(2024, 1, 1), (), None)])
    assert store.pairs(folder.id) == []


def test_folder_rows_read_back_as_the_core_query_does(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    first = store.upsert_folder(mailbox, "INBOX", "INBOX")
    counters = {"source_uidvalidity": 7, "source_uidnext": 8, "source_highestmodseq": None}
    store.save_checkpoint(first.id, **counters, source_messages=9, target_uidvalidity=10)
    again = store.upsert_folder(mailbox, "INBOX", "Inbox2")
    with store.engine.connect() as connection:
        row = connection.execute(select(folders).where(folders.c.id == first.id)).one()
    assert tuple(row) == (first.id, mailbox, "INBOX", "Inbox2", 7, 8, None, 9, 10,
                          again.last_synced_at, "")  # fmt: skip
    assert again == store.folder(mailbox, "INBOX")
    assert again.last_synced_at is not None and again.last_synced_at.tzinfo == dt.UTC
