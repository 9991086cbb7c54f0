"""Pairing source and target messages by their bytes, and comparing each pair. Pure.

Bytes decide identity (SHA-256 of the message as its store serves it), as
multisets: two equal source messages need two target copies. Among messages
with equal bytes, those with the same INTERNALDATE second pair first, the
rest in date order, so a duplicate never hides a changed date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mailferry.engine.planner import writable_flags
from mailferry.stores.base import MessageMeta
from mailferry.stores.flags import storable
from mailferry.values.verify_report import DateMismatch, FlagMismatch, MessageRef


@dataclass(frozen=True)
class Hashed:
    """A message whose bytes were read: its listing, digest, size as served, Subject."""

    meta: MessageMeta
    digest: str
    size: int
    subject: str | None = None

    @property
    def stamp(self) -> int:
        return stamp(self.meta.internaldate)

    def ref(self) -> MessageRef:
        return MessageRef(self.meta.uid, self.size, self.meta.internaldate, self.subject)


Pair = tuple[Hashed, Hashed]


def stamp(value: dt.datetime) -> int:
    """An INTERNALDATE to the second (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def pair_up(
    source: Iterable[Hashed], target: Iterable[Hashed]
) -> tuple[list[Pair], list[Hashed], list[Hashed]]:
    """(pairs, unmatched source messages, unmatched target messages), by UID."""
    by_digest: dict[str, tuple[list[Hashed], list[Hashed]]] = defaultdict(lambda: ([], []))
    for message in source:
        by_digest[message.digest][0].append(message)
    for message in target:
        by_digest[message.digest][1].append(message)
    pairs: list[Pair] = []
    lone_source: list[Hashed] = []
    lone_target: list[Hashed] = []
    for sources, targets in by_digest.values():
        found, left_source, left_target = _pair_same_bytes(sources, targets)
        pairs.extend(found)
        lone_source.extend(left_source)
        lone_target.extend(left_target)
    pairs.sort(key=lambda pair: pair[0].meta.uid)
    lone_source.sort(key=lambda m: m.meta.uid)
    lone_target.sort(key=lambda m: m.meta.uid)
    return pairs, lone_source, lone_target


def _pair_same_bytes(
    sources: list[Hashed], targets: list[Hashed]
) -> tuple[list[Pair], list[Hashed], list[Hashed]]:
    """Byte-identical copies: pair those with the same date and flags first, then the
    same date, then by date. (The migration may pair identical copies in any order: by
    UID alone, two copies with different flags looked like two flag mismatches.)"""
    pairs, sources, targets = _match(sources, targets, lambda m: (m.stamp, _flag_key(m)))
    more, sources, targets = _match(sources, targets, lambda m: m.stamp)
    pairs.extend(more)
    rest, left = sorted(sources, key=_by_date), sorted(targets, key=_by_date)
    pairs.extend(zip(rest, left, strict=False))
    count = min(len(rest), len(left))
    return pairs, rest[count:], left[count:]


def _match(
    sources: list[Hashed], targets: list[Hashed], key: Callable[[Hashed], object]
) -> tuple[list[Pair], list[Hashed], list[Hashed]]:
    """Pairs of equal ``key``, in UID order on both sides; the unpaired of each side."""
    by_key: dict[object, list[Hashed]] = defaultdict(list)
    for message in sorted(targets, key=lambda m: m.meta.uid, reverse=True):
        by_key[key(message)].append(message)  # pop() yields the smallest UID first
    pairs: list[Pair] = []
    rest: list[Hashed] = []
    for message in sorted(sources, key=lambda m: m.meta.uid):
        same = by_key.get(key(message))
        if same:
            pairs.append((message, same.pop()))
        else:
            rest.append(message)
    return pairs, rest, [m for ms in by_key.values() for m in ms]


def _flag_key(message: Hashed) -> frozenset[str]:
    """Flags as a preference when pairing (``\\Recent`` is never written)."""
    return frozenset(f.lower() for f in message.meta.flags if f.lower() != "\\recent")


def _by_date(message: Hashed) -> tuple[int, int]:
    return (message.stamp, message.meta.uid)


def compare_flags(
    pair: Pair, keeps: Callable[[str], bool], *, include_deleted: bool
) -> FlagMismatch | None:
    """The flags the migration writes for the source message against the target's."""
    source, target = pair
    wanted, _ = writable_flags(source.meta.flags, keeps, include_deleted=include_deleted)
    expected = _comparable(wanted)
    found = _comparable(target.meta.flags)
    if expected.keys() == found.keys():
        return None
    missing = tuple(sorted(expected[k] for k in expected.keys() - found.keys()))
    extra = tuple(sorted(found[k] for k in found.keys() - expected.keys()))
    return FlagMismatch(source.meta.uid, target.meta.uid, missing, extra)


def _comparable(flags: Iterable[str]) -> dict[str, str]:
    """Storable flags by comparison key (system flags canonical, keywords casefolded)."""
    system, keywords = storable(flags)
    found = {flag: flag for flag in system}
    found.update((keyword.casefold(), keyword) for keyword in keywords)
    return found


def compare_date(pair: Pair) -> DateMismatch | None:
    source, target = pair
    if source.stamp == target.stamp:
        return None
    return DateMismatch(
        source.meta.uid, target.meta.uid, source.meta.internaldate, target.meta.internaldate
    )


def comparisons(
    pairs: Sequence[Pair], keeps: Callable[[str], bool], *, include_deleted: bool
) -> tuple[tuple[FlagMismatch, ...], tuple[DateMismatch, ...]]:
    """Flag and date differences of every pair, in source UID order."""
    flags = (compare_flags(p, keeps, include_deleted=include_deleted) for p in pairs)
    dates = (compare_date(p) for p in pairs)
    return (
        tuple(f for f in flags if f is not None),
        tuple(d for d in dates if d is not None),
    )
