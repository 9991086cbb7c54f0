"""Skipped items: recorded once per (folder, source UID, kind), read back in order."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from mailferry.state import StateStore

from .factories import skipped


def test_record_and_read_skipped_items(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    items = [skipped(3), skipped(3, kind="CorruptItem", reason="bad MIME"), skipped(None)]
    store.record_skipped(mailbox, items)
    assert sorted(store.skipped(mailbox), key=repr) == sorted(items, key=repr)
    assert store.skipped(store.mailbox_id("other")) == []


def test_recording_again_is_idempotent(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    items = [skipped(1), skipped(2), skipped(None, kind="FolderError", reason="no access")]
    store.record_skipped(mailbox, items)
    store.record_skipped(mailbox, items)
    store.record_skipped(mailbox, list(reversed(items)))
    assert len(store.skipped(mailbox)) == 3


def test_recording_again_replaces_the_details(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    store.record_skipped(mailbox, [skipped(1), skipped(None)])
    newer = [skipped(1, reason="552 too big"), skipped(None, reason="later words")]
    store.record_skipped(mailbox, newer)
    assert sorted(store.skipped(mailbox), key=repr) == sorted(newer, key=repr)


def test_duplicates_within_one_batch_keep_the_last(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    store.record_skipped(mailbox, [skipped(1, reason="a"), skipped(1, reason="b")])
    assert [item.reason for item in store.skipped(mailbox)] == ["b"]


def test_same_uid_in_other_folder_or_mailbox_is_another_item(store: StateStore) -> None:
    first = store.mailbox_id("m")
    second = store.mailbox_id("n")
    item = skipped(1)
    elsewhere = dataclasses.replace(item, folder="Sent")
    store.record_skipped(first, [item, elsewhere])
    store.record_skipped(second, [item])
    assert len(store.skipped(first)) == 2
    assert store.skipped(second) == [item]


def test_optional_fields_round_trip_as_none(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    bare = dataclasses.replace(skipped(4), subject="", sender="", date=None, size=None)
    store.record_skipped(mailbox, [bare])
    assert store.skipped(mailbox) == [bare]


def test_skipped_are_listed_in_recording_order(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    store.record_skipped(mailbox, [skipped(9)])
    store.record_skipped(mailbox, [skipped(2)])
    store.record_skipped(mailbox, [skipped(9, reason="again")])
    assert [(i.source_uid, i.reason) for i in store.skipped(mailbox)] == [
        (9, "again"),
        (2, "too big"),
    ]


def test_naive_dates_are_refused(store: StateStore) -> None:
    mailbox = store.mailbox_id("m")
    naive = dataclasses.replace(skipped(1), date=dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        store.record_skipped(mailbox, [naive])
    assert store.skipped(mailbox) == []
