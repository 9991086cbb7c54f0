"""Small builders for state tests."""

from __future__ import annotations

import datetime as dt

from mailferry.state import PairIntent
from mailferry.values.results import SkippedItem

BASE = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def intent(
    uid: int, *, flags: tuple[str, ...] = ("\\Seen",), before: int | None = 100
) -> PairIntent:
    return PairIntent(
        source_uid=uid,
        fingerprint=f"fp-{uid}",
        size=1000 + uid,
        internaldate=BASE + dt.timedelta(minutes=uid),
        flags=flags,
        target_uidnext_before=before,
    )


def intents(first: int, count: int) -> list[PairIntent]:
    return [intent(uid) for uid in range(first, first + count)]


def skipped(uid: int | None, *, kind: str = "LargeItem", reason: str = "too big") -> SkippedItem:
    return SkippedItem(
        folder="INBOX",
        source_uid=uid,
        kind=kind,
        subject=f"subject {uid}",
        sender="alice@example.org",
        date=BASE,
        size=50_000_000,
        reason=reason,
    )
