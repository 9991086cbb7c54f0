"""Mailboxes, folders and checkpoints, and purging a mailbox."""

from __future__ import annotations

import datetime as dt

import pytest

from mailferry.errors import StateNotFound
from mailferry.state import StateStore

from .factories import intents, skipped

BIG = 2**63 - 1  # BIGINT: modseqs go far beyond 32 bits


def test_mailbox_id_is_stable_and_distinct_per_key(store: StateStore) -> None:
    first = store.mailbox_id("imap://src:993/alice -> maildir:/srv/alice")
    second = store.mailbox_id("imap://src:993/bob -> maildir:/srv/bob")
    assert first != second
    assert store.mailbox_id("imap://src:993/alice -> maildir:/srv/alice") == first


def test_upsert_folder_creates_then_updates_the_target(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    created = store.upsert_folder(mailbox, "Sent Items", "Sent")
    assert (created.mailbox_id, created.source_folder, created.target_folder) == (
        mailbox,
        "Sent Items",
        "Sent",
    )
    assert created.source_uidvalidity is None and created.last_synced_at is None
    store.save_checkpoint(
        created.id,
        source_uidvalidity=7,
        source_uidnext=8,
        source_highestmodseq=9,
        source_messages=10,
        target_uidvalidity=11,
    )
    moved = store.upsert_folder(mailbox, "Sent Items", "Archive/Sent")
    assert moved.id == created.id
    assert moved.target_folder == "Archive/Sent"
    assert moved.source_uidvalidity == 7  # the checkpoint survives a new target name


def test_folder_and_folders_read_back(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    other = store.mailbox_id("other")
    inbox = store.upsert_folder(mailbox, "INBOX", "INBOX")
    archive = store.upsert_folder(mailbox, "Archive", "Archives")
    store.upsert_folder(other, "INBOX", "INBOX")
    assert store.folder(mailbox, "INBOX") == inbox
    assert store.folder(mailbox, "Nope") is None
    assert store.folders(mailbox) == [archive, inbox]  # by source folder name
    assert store.folders(store.mailbox_id("empty")) == []


def test_save_checkpoint_stores_big_counters_and_a_utc_time(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    folder = store.upsert_folder(mailbox, "INBOX", "INBOX")
    before = dt.datetime.now(dt.UTC)
    store.save_checkpoint(
        folder.id,
        source_uidvalidity=2**32 - 1,
        source_uidnext=2**32 - 2,
        source_highestmodseq=BIG,
        source_messages=123_456,
        target_uidvalidity=None,
    )
    saved = store.folder(mailbox, "INBOX")
    assert saved is not None
    assert saved.source_uidvalidity == 2**32 - 1
    assert saved.source_uidnext == 2**32 - 2
    assert saved.source_highestmodseq == BIG
    assert saved.source_messages == 123_456
    assert saved.target_uidvalidity is None
    assert saved.last_synced_at is not None
    assert saved.last_synced_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=5) <= saved.last_synced_at <= dt.datetime.now(dt.UTC)


def test_save_checkpoint_of_an_unknown_folder_raises(store: StateStore) -> None:
    with pytest.raises(StateNotFound):
        store.save_checkpoint(
            424242,
            source_uidvalidity=1,
            source_uidnext=1,
            source_highestmodseq=None,
            source_messages=0,
            target_uidvalidity=1,
        )


def test_delete_mailbox_purges_only_that_mailbox(store: StateStore) -> None:
    gone = store.mailbox_id("gone")
    kept = store.mailbox_id("kept")
    for mailbox in (gone, kept):
        folder = store.upsert_folder(mailbox, "INBOX", "INBOX")
        store.record_intent(folder.id, intents(1, 3))
        store.record_skipped(mailbox, [skipped(9)])
    gone_folder = store.folder(gone, "INBOX")
    assert gone_folder is not None
    store.delete_mailbox(gone)
    assert store.folders(gone) == []
    assert store.pairs(gone_folder.id) == []
    assert store.skipped(gone) == []
    kept_folder = store.folder(kept, "INBOX")
    assert kept_folder is not None
    assert len(store.pairs(kept_folder.id)) == 3
    assert store.skipped(kept) == [skipped(9)]
    assert store.mailbox_id("gone") not in (gone, kept)  # a new, never reused id
