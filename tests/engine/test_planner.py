"""The per-folder planner: table cases, then Hypothesis properties."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from mailferry.engine.planner import (
    ITEM_LIMIT,
    LARGE_ITEM,
    Copy,
    Forget,
    SetFlags,
    items_over_limit,
    match_by_fingerprint,
    plan_folder,
    writable_flags,
)
from mailferry.state.records import DONE, PENDING, PairRecord
from mailferry.stores.base import SYSTEM_FLAGS, MessageMeta
from mailferry.values.sync_options import SyncOptions

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
OPTIONS = SyncOptions()


def meta(uid: int, *, minutes: int | None = None, size: int = 100, flags=()) -> MessageMeta:
    date = T0 + dt.timedelta(minutes=uid if minutes is None else minutes)
    return MessageMeta(uid, size, tuple(flags), date)


def pair(uid: int, target: int | None = None, *, flags=(), state=DONE) -> PairRecord:
    return PairRecord(uid, target, state, f"fp{uid}", 100, T0, tuple(sorted(flags)), None)


def keep_all(_flag: str) -> bool:
    return True


def keep_system(flag: str) -> bool:
    return flag in SYSTEM_FLAGS


def plan(metas, pairs=(), *, present=None, keeps=keep_all, over=(), options=OPTIONS):
    by_uid = {m.uid: m for m in metas}
    uids = set(by_uid) if present is None else set(present)
    return plan_folder(uids, by_uid, list(pairs), keeps=keeps, over_limit=over, options=options)


def test_new_messages_are_copied_newest_first_ties_by_uid_descending():
    metas = [meta(1, minutes=5), meta(2, minutes=9), meta(3, minutes=5), meta(4, minutes=1)]
    result = plan(metas)
    assert [c.meta.uid for c in result.copies] == [2, 3, 1, 4]
    assert result.skips == () and result.flag_updates == () and result.forgets == ()
    assert result.copy_bytes == 400


def test_paired_messages_are_not_copied_again():
    result = plan([meta(1), meta(2)], [pair(1, 10)])
    assert [c.meta.uid for c in result.copies] == [2]


def test_large_item_is_skipped_from_its_size_alone():
    options = SyncOptions(max_message_size=1000)
    result = plan([meta(1, size=1000), meta(2, size=1001)], options=options)
    assert [c.meta.uid for c in result.copies] == [1]
    assert [(s.meta.uid, s.kind) for s in result.skips] == [(2, LARGE_ITEM)]
    assert "1001" in result.skips[0].reason and "1000" in result.skips[0].reason


def test_over_limit_uids_become_item_limit_skips():
    result = plan([meta(1), meta(2), meta(3)], over={1, 2})
    assert [c.meta.uid for c in result.copies] == [3]
    assert sorted((s.meta.uid, s.kind) for s in result.skips) == [(1, ITEM_LIMIT), (2, ITEM_LIMIT)]


def test_item_limit_is_mailbox_wide_and_keeps_the_newest():
    listings = {
        "INBOX": [meta(1, minutes=10), meta(2, minutes=40)],
        "Sent": [meta(1, minutes=30), meta(2, minutes=20), meta(3, minutes=5)],
    }
    over = items_over_limit(listings, already_paired=2, max_items=5)
    assert over == {"INBOX": {1}, "Sent": {3}}
    assert items_over_limit(listings, already_paired=0, max_items=5) == {
        "INBOX": set(),
        "Sent": set(),
    }
    everything = items_over_limit(listings, already_paired=9, max_items=5)
    assert everything == {"INBOX": {1, 2}, "Sent": {1, 2, 3}}


def test_deleted_messages_are_skipped_items_of_their_own_kind_unless_included():
    metas = [meta(1, flags=["\\Deleted", "\\Seen"]), meta(2, flags=["\\DELETED"]), meta(3)]
    result = plan(metas)
    assert [c.meta.uid for c in result.copies] == [3]
    assert result.deleted == (1, 2)
    assert sorted((s.meta.uid, s.kind) for s in result.skips) == [(1, "Deleted"), (2, "Deleted")]
    assert all("--include-deleted" in s.reason for s in result.skips)
    included = plan(metas, options=SyncOptions(include_deleted=True))
    assert {c.meta.uid: c.flags for c in included.copies} == {
        1: ("\\Deleted", "\\Seen"),
        2: ("\\Deleted",),
        3: (),
    }
    assert included.deleted == () and included.skips == ()


def test_flags_written_are_what_the_target_keeps_canonical_and_without_recent():
    flags, unkept = writable_flags(
        ["\\seen", "\\Recent", "$Forwarded", "\\Junk", "\\Deleted"],
        keep_system,
        include_deleted=False,
    )
    assert flags == ("\\Seen",)
    assert unkept == ("$Forwarded", "\\Junk")
    result = plan([meta(1, flags=["\\Seen", "$Label1"])], keeps=keep_system)
    assert result.copies == (Copy(meta(1, flags=["\\Seen", "$Label1"]), ("\\Seen",)),)
    assert result.unkept_flags == ("$Label1",)


def test_flag_updates_compare_only_kept_flags():
    metas = [
        meta(1, flags=["\\Seen", "$Label1"]),  # differs only by an unkept keyword: no update
        meta(2, flags=["\\Flagged"]),  # \Seen removed, \Flagged added
        meta(3, flags=["\\Answered", "\\Seen"]),  # same set, other order
    ]
    pairs = [
        pair(1, 11, flags=["\\Seen"]),
        pair(2, 12, flags=["\\Seen"]),
        pair(3, 13, flags=["\\Seen", "\\Answered"]),
    ]
    result = plan(metas, pairs, keeps=keep_system)
    assert result.flag_updates == (SetFlags(2, 12, ("\\Flagged",)),)
    assert result.copies == ()


def test_a_pair_without_target_uid_gets_no_flag_update():
    result = plan([meta(1, flags=["\\Seen"])], [pair(1, None)])
    assert result.flag_updates == () and result.copies == ()


def test_expunged_pairs_are_forgotten_and_deleted_only_when_asked():
    pairs = [pair(1, 11), pair(2, 12), pair(3, None)]
    result = plan([meta(2)], pairs)
    assert result.forgets == (Forget(1, 11, False), Forget(3, None, False))
    propagated = plan([meta(2)], pairs, options=SyncOptions(propagate_deletions=True))
    assert propagated.forgets == (Forget(1, 11, True), Forget(3, None, False))


def test_pending_pairs_are_not_planned_again():
    pairs = [pair(1, state=PENDING), pair(2, state=PENDING)]
    result = plan([meta(1, flags=["\\Seen"])], pairs, present={1})
    assert result.empty
    assert result.copies == () and result.forgets == () and result.flag_updates == ()


def test_incremental_listing_plans_only_what_it_lists():
    # present = every UID in the folder; metas = only the changed ones.
    metas = {5: meta(5, flags=["\\Seen"])}
    pairs = [pair(4, 14), pair(5, 15)]
    result = plan_folder({4, 5, 6}, metas, pairs, keeps=keep_all, options=OPTIONS)
    assert result.flag_updates == (SetFlags(5, 15, ("\\Seen",)),)
    assert result.copies == () and result.forgets == ()


def test_match_by_fingerprint_counts_duplicates_once_each():
    wanted = {1: "a", 2: "a", 3: "b", 4: "c"}
    available = {10: "a", 11: "b", 12: "a", 13: "a", 14: "d"}
    assert match_by_fingerprint(wanted, available) == {1: 10, 2: 12, 3: 11}
    assert match_by_fingerprint({}, available) == {}
    assert match_by_fingerprint(wanted, {}) == {}


def test_in_order_matching_follows_the_append_order_of_identical_messages():
    appended = {7: "a", 3: "a", 5: "b"}  # appended in this order: UID 7 first
    available = {20: "a", 21: "b", 22: "a"}
    assert match_by_fingerprint(appended, available, in_order=True) == {7: 20, 3: 22, 5: 21}
    assert match_by_fingerprint(appended, available) == {3: 20, 7: 22, 5: 21}


# -- properties -------------------------------------------------------------------

flag_sets = st.lists(st.sampled_from(["\\Seen", "\\Deleted", "\\Flagged", "$Junk", "\\Recent"]))
metas_strategy = st.dictionaries(
    st.integers(1, 60),
    st.tuples(st.integers(0, 50), st.integers(1, 3000), flag_sets),
    max_size=40,
)


@given(
    metas_strategy,
    st.sets(st.integers(1, 60), max_size=30),
    st.sets(st.integers(1, 60), max_size=10),
    st.booleans(),
)
def test_every_unpaired_message_lands_in_exactly_one_place(raw, paired, over, include_deleted):
    metas = {uid: meta(uid, minutes=m, size=s, flags=f) for uid, (m, s, f) in raw.items()}
    pairs = [pair(uid, uid + 100) for uid in sorted(paired)]
    options = SyncOptions(max_message_size=2000, include_deleted=include_deleted)
    result = plan_folder(set(metas), metas, pairs, keeps=keep_all, over_limit=over, options=options)
    copied = [c.meta.uid for c in result.copies]
    skipped = [s.meta.uid for s in result.skips]
    landed = Counter(copied + skipped)
    assert landed == Counter(uid for uid in metas if uid not in paired)
    assert set(result.deleted) == {s.meta.uid for s in result.skips if s.kind == "Deleted"}
    assert not set(copied) & paired
    keys = [(-c.meta.internaldate.timestamp(), -c.meta.uid) for c in result.copies]
    assert keys == sorted(keys)
    assert all(c.meta.size <= 2000 for c in result.copies)
    assert {f.source_uid for f in result.forgets} == paired - set(metas)
    assert all("\\Recent" not in c.flags for c in result.copies)


@given(
    st.dictionaries(
        st.sampled_from(["A", "B", "C"]),
        st.dictionaries(st.integers(1, 30), st.integers(0, 20), max_size=15),
    ),
    st.integers(0, 40),
    st.integers(0, 40),
)
def test_item_limit_keeps_the_newest(raw, already, limit):
    listings = {f: [meta(uid, minutes=m) for uid, m in uids.items()] for f, uids in raw.items()}
    over = items_over_limit(listings, already, limit)
    total = sum(len(metas) for metas in listings.values())
    kept = [m for f, metas in listings.items() for m in metas if m.uid not in over[f]]
    dropped = [m for f, metas in listings.items() for m in metas if m.uid in over[f]]
    assert len(kept) == min(total, max(0, limit - already))
    if kept and dropped:
        assert min(m.internaldate for m in kept) >= max(m.internaldate for m in dropped)


@given(
    st.dictionaries(st.integers(1, 50), st.sampled_from("abcd"), max_size=20),
    st.dictionaries(st.integers(1, 50), st.sampled_from("abcde"), max_size=20),
)
def test_fingerprint_matching_is_a_maximal_deterministic_multiset_match(wanted, available):
    matched = match_by_fingerprint(wanted, available)
    assert all(wanted[k] == available[v] for k, v in matched.items())
    assert len(set(matched.values())) == len(matched)
    for fp in set(wanted.values()):
        want = sum(1 for v in wanted.values() if v == fp)
        have = sum(1 for v in available.values() if v == fp)
        assert sum(1 for k in matched if wanted[k] == fp) == min(want, have)
    shuffled = dict(reversed(list(available.items())))
    assert match_by_fingerprint(dict(reversed(list(wanted.items()))), shuffled) == matched
