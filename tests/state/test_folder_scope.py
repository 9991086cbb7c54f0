"""The scope of a folder checkpoint (the content filter it was made under), and revision
0004 on a database that already holds folders, pairs and batches: the upgrade gives the
old checkpoints the empty scope (they were made without a filter), and the downgrade
takes the two columns away without losing a row (a batch-mode copy of ``folders`` or
``batches`` on SQLite would cascade to every pair or migration user)."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect, select, text

from mailferry.state import PairIntent, StateStore
from mailferry.state.database import create_state_engine
from mailferry.state.migrate import alembic_config
from mailferry.state.schema import batches
from tests.state.conftest import alembic_upgrade, with_alembic

SCOPE = "Received -ge '2020-01-01' -and Received -lt '2021-01-01'"
COUNTERS = {
    "source_uidvalidity": 7,
    "source_uidnext": 8,
    "source_highestmodseq": 9,
    "source_messages": 10,
    "target_uidvalidity": 11,
}


def test_a_checkpoint_keeps_its_scope_until_the_next_one(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    created = store.upsert_folder(mailbox, "INBOX", "INBOX")
    assert created.scope == ""
    store.save_checkpoint(created.id, **COUNTERS, scope=SCOPE)
    assert store.folder(mailbox, "INBOX") == store.folders(mailbox)[0]
    found = store.folder(mailbox, "INBOX")
    assert found is not None and found.scope == SCOPE and found.source_uidnext == 8
    moved = store.upsert_folder(mailbox, "INBOX", "Indbakke")  # the checkpoint is kept
    assert (moved.target_folder, moved.scope) == ("Indbakke", SCOPE)
    store.save_checkpoint(created.id, **COUNTERS)  # made without a filter
    again = store.folder(mailbox, "INBOX")
    assert again is not None and again.scope == ""


def _columns(url: str, table: str) -> list[str]:
    engine = create_state_engine(url)
    try:
        return [c["name"] for c in inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = create_state_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _fill(url: str) -> int:
    """A folder with a checkpoint and a pair, at revision 0003; the folder's id."""
    with StateStore.open(url) as store:
        folder = store.upsert_folder(store.mailbox_id("m"), "INBOX", "INBOX")
        when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        store.record_intent(folder.id, [PairIntent(1, "fp", 10, when, ("\\Seen",), 1)])
        store.record_outcome(folder.id, {1: 5})
        return folder.id


def test_revision_0004_on_existing_folders_and_back(db_url: str) -> None:
    alembic_upgrade(db_url, "0003_user_durations")
    assert "scope" not in _columns(db_url, "folders")
    mailbox = 1
    for statement in (
        "INSERT INTO mailboxes (key, created_at) VALUES ('m', '2024-01-01 00:00:00')",
        "INSERT INTO folders (mailbox_id, source_folder, target_folder, source_uidnext)"
        f" VALUES ({mailbox}, 'INBOX', 'INBOX', 42)",
    ):
        with_alembic(db_url, lambda c, sql=statement: c.execute(text(sql)))

    alembic_upgrade(db_url)
    assert _columns(db_url, "folders")[-1] == "scope"
    assert "content_filter" in _columns(db_url, "batches")  # later revisions append more
    with StateStore.open(db_url) as store:
        old = store.folder(mailbox, "INBOX")
        assert old is not None and (old.source_uidnext, old.scope) == (42, "")
        with store.engine.connect() as connection:
            assert connection.execute(select(batches.c.content_filter)).all() == []
    _fill(db_url)
    assert _count(db_url, "message_pairs") == 1

    with_alembic(db_url, lambda c: command.downgrade(alembic_config(c), "0003_user_durations"))
    assert "scope" not in _columns(db_url, "folders")
    assert "content_filter" not in _columns(db_url, "batches")
    assert (_count(db_url, "folders"), _count(db_url, "message_pairs")) == (1, 1)
    alembic_upgrade(db_url)
    with StateStore.open(db_url) as store:
        (folder,) = store.folders(mailbox)
        assert folder.scope == "" and len(store.pairs(folder.id)) == 1
