"""Source against target, per user and per folder: what is lost, duplicated, altered.

Contents are compared as multisets of digests (the same message twice must be there
twice). A target message whose digest the source's folder lacks is a DUP when the
user's source holds that content elsewhere or the folder wants fewer copies, an EXTRA
when the source has no such content at all (a truncated or altered message). Among the
messages whose contents match, flag sets and dates are compared as multisets too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from bench.crash.views import Labels, Mail, View

MAX_DETAILS = 40


@dataclass(frozen=True)
class Verdict:
    lost: int = 0
    dup: int = 0
    extra: int = 0
    flags: int = 0
    dates: int = 0
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.lost or self.dup or self.extra or self.flags or self.dates)

    def label(self) -> str:
        parts = [
            f"{name} {n}"
            for name, n in (
                ("LOST", self.lost),
                ("DUP", self.dup),
                ("EXTRA", self.extra),
                ("FLAGS", self.flags),
                ("DATES", self.dates),
            )
            if n
        ]
        return " ".join(parts) or "OK"


def compare(want: Mapping[str, View], got: Mapping[str, View], labels: Labels) -> Verdict:
    """``want`` and ``got``: user -> view (``want`` already without \\Deleted mail)."""
    totals = Counter[str]()
    details: list[str] = []
    for user in sorted(set(want) | set(got)):
        wanted, have = want.get(user, {}), got.get(user, {})
        everywhere = _digests_of(wanted)
        for folder in sorted(set(wanted) | set(have)):
            counts, lines = _compare_folder(
                wanted.get(folder, Counter()), have.get(folder, Counter()), everywhere, labels
            )
            totals.update(counts)
            details.extend(f"{user} [{folder}] {line}" for line in lines)
    return Verdict(
        totals["lost"],
        totals["dup"],
        totals["extra"],
        totals["flags"],
        totals["dates"],
        tuple(details[:MAX_DETAILS]),
    )


def _digests_of(view: View) -> set[str]:
    return {mail.digest for mails in view.values() for mail in mails}


def _by_digest(mails: Counter[Mail]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for mail, n in mails.items():
        counts[mail.digest] += n
    return counts


def _compare_folder(
    want: Counter[Mail], got: Counter[Mail], everywhere: set[str], labels: Labels
) -> tuple[Counter[str], list[str]]:
    counts: Counter[str] = Counter()
    lines: list[str] = []
    wanted, have = _by_digest(want), _by_digest(got)
    for key, n in (wanted - have).items():
        counts["lost"] += n
        lines.append(f"LOST x{n} {key[:16]} {labels.of(key)}")
    for key, n in (have - wanted).items():
        kind = "dup" if key in everywhere else "extra"
        counts[kind] += n
        lines.append(f"{kind.upper()} x{n} {key[:16]} {labels.of(key)}")
    for key in wanted.keys() & have.keys():
        flag_diff, date_diff = _meta_differences(want, got, key)
        counts["flags"] += len(flag_diff)
        counts["dates"] += len(date_diff)
        lines.extend(f"FLAGS {key[:16]} {d} {labels.of(key)}" for d in flag_diff)
        lines.extend(f"DATES {key[:16]} {d}" for d in date_diff)
    return counts, lines


def _meta_differences(
    want: Counter[Mail], got: Counter[Mail], key: str
) -> tuple[list[str], list[str]]:
    """Unpaired flag sets and dates among the copies of one content."""
    w_flags, g_flags = _flag_sets(want, key), _flag_sets(got, key)
    w_dates, g_dates = _dates(want, key), _dates(got, key)
    flags = [
        f"source {sorted(a)} -> target {sorted(b)}"
        for a, b in zip(
            (w_flags - g_flags).elements(), (g_flags - w_flags).elements(), strict=False
        )
    ]
    dates = [
        f"source {a} -> target {b}"
        for a, b in zip(
            (w_dates - g_dates).elements(), (g_dates - w_dates).elements(), strict=False
        )
    ]
    return flags, dates


def _flag_sets(mails: Counter[Mail], key: str) -> Counter[frozenset[str]]:
    found: Counter[frozenset[str]] = Counter()
    for mail, n in mails.items():
        if mail.digest == key:
            found[mail.flags] += n
    return found


def _dates(mails: Counter[Mail], key: str) -> Counter[int]:
    found: Counter[int] = Counter()
    for mail, n in mails.items():
        if mail.digest == key:
            found[mail.date] += n
    return found


def view_changes(before: Mapping[str, View], after: Mapping[str, View]) -> int:
    """How many messages differ between two readings of the same target."""
    changed = 0
    for user in set(before) | set(after):
        b, a = before.get(user, {}), after.get(user, {})
        for folder in set(b) | set(a):
            old, new = b.get(folder, Counter()), a.get(folder, Counter())
            changed += sum((old - new).values()) + sum((new - old).values())
    return changed
