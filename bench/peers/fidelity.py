"""Fidelity check: does a target mailbox hold exactly what the source holds?

``snapshot`` reads one user's whole mailbox over IMAP (every selectable folder: per
message the sha256 of ``BODY[]``, its size, flags incl. keywords, INTERNALDATE);
``compare`` lists every difference between two snapshots, by kind:

- ``folders``: a source folder missing on the target, or an extra target folder;
- ``count``: a folder's message count differs;
- ``bytes``: the multiset of body hashes differs (a message missing, duplicated, altered);
- ``flags``: a message's system flags differ (``\\Recent`` ignored);
- ``keywords``: a message's keywords differ (case-insensitive, as IMAP says);
- ``dates``: a message's INTERNALDATE differs (compared as instants).

Messages a tool documents that it skips (``skip`` predicate, e.g. mailferry's 35 MiB
limit) are left out of the comparison and counted separately, never hidden.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions

TOOL_HEADERS = ("X-TUID", "X-OfflineIMAP")  # headers mbsync / OfflineIMAP may add
KINDS = ("folders", "count", "bytes", "flags", "keywords", "dates")
_FETCH_ITEMS = ("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")
_SHOWN = 3  # examples kept per kind


@dataclass(frozen=True)
class MessageFacts:
    sha256: str
    size: int
    flags: frozenset[str]  # lower-cased system flags (backslash) and keywords
    internaldate: datetime | None
    core: str = ""  # sha256 without the tool headers (TOOL_HEADERS); "" = same as sha256

    @property
    def system_flags(self) -> frozenset[str]:
        return frozenset(f for f in self.flags if f.startswith("\\"))

    @property
    def keywords(self) -> frozenset[str]:
        return frozenset(f for f in self.flags if not f.startswith("\\"))


@dataclass(frozen=True)
class Snapshot:
    """folder name ("/"-separated, decoded) -> its messages."""

    folders: Mapping[str, tuple[MessageFacts, ...]]

    @property
    def messages(self) -> int:
        return sum(len(m) for m in self.folders.values())

    @property
    def bytes(self) -> int:
        return sum(f.size for m in self.folders.values() for f in m)


@dataclass(frozen=True)
class Difference:
    kind: str
    folder: str
    detail: str


@dataclass(frozen=True)
class FidelityReport:
    differences: tuple[Difference, ...]
    skipped: int = 0  # source messages left out by the tool's documented skip rule
    skip_reason: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)  # kind -> number of differences

    @property
    def ok(self) -> bool:
        return not self.differences

    def kinds(self) -> set[str]:
        return {d.kind for d in self.differences}

    def summary(self) -> str:
        """``OK`` or e.g. ``keywords:312 dates:2`` (plus the documented skips)."""
        text = "OK" if self.ok else " ".join(f"{k}:{n}" for k, n in self.counts.items() if n)
        if self.skipped:
            text += f" (skipped {self.skipped} {self.skip_reason})".rstrip()
        return text

    def examples(self) -> list[str]:
        shown: Counter[str] = Counter()
        lines = []
        for diff in self.differences:
            shown[diff.kind] += 1
            if shown[diff.kind] <= _SHOWN:
                lines.append(f"{diff.kind} [{diff.folder}] {diff.detail}")
        return lines


# -- reading --------------------------------------------------------------------------


async def snapshot(options: ConnectOptions, credentials: Credentials) -> Snapshot:
    """Everything in one user's mailbox (bodies hashed while streaming, never kept)."""
    client = await ImapClient.connect(options)
    try:
        await client.login(credentials)
        folders: dict[str, tuple[MessageFacts, ...]] = {}
        for entry in await client.list_folders():
            attributes = {a.lower() for a in entry.attributes}
            if "\\noselect" in attributes or "\\nonexistent" in attributes:
                continue
            name = entry.name if not entry.delimiter else entry.name.replace(entry.delimiter, "/")
            folders[name] = await _folder_facts(client, entry.name)
        return Snapshot(folders)
    finally:
        await client.logout()


async def _folder_facts(client: ImapClient, name: str) -> tuple[MessageFacts, ...]:
    box = await client.select(name, readonly=True)
    if box.exists == 0:
        return ()
    uids = await client.uid_search("ALL")
    facts = []
    async for message in client.fetch_messages(uids, _FETCH_ITEMS, chunk=500, window=4):
        body = message.body
        sha, core = _digests(body.chunks() if body is not None else iter(()))
        size = body.size if body is not None else 0
        flags = frozenset(f.lower() for f in message.flags if f.lower() != "\\recent")
        facts.append(MessageFacts(sha, size, flags, message.internaldate, core))
        message.close()
    return tuple(facts)


def _digests(chunks: Iterator[bytes]) -> tuple[str, str]:
    """sha256 of the bytes, and of the bytes without TOOL_HEADERS fields in the header."""
    whole, core = hashlib.sha256(), hashlib.sha256()
    first = True
    for piece in chunks:
        whole.update(piece)
        core.update(_strip_tool_headers(piece) if first else piece)
        first = False
    return whole.hexdigest(), core.hexdigest()


def _strip_tool_headers(chunk: bytes) -> bytes:
    end = chunk.find(b"\r\n\r\n")
    if end < 0:
        return chunk
    kept: list[bytes] = []
    dropping = False
    for line in chunk[: end + 2].split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().decode("latin-1").lower()
        dropping = name in _TOOL_HEADER_NAMES
        if not dropping:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept) + chunk[end + 2 :]


_TOOL_HEADER_NAMES = frozenset(h.lower() for h in TOOL_HEADERS)


# -- comparing ------------------------------------------------------------------------

SkipRule = Callable[[str, MessageFacts], bool]


def compare(
    source: Snapshot,
    target: Snapshot,
    *,
    skip: SkipRule | None = None,
    skip_reason: str = "",
) -> FidelityReport:
    """Every difference of ``target`` from ``source`` (see the module docstring)."""
    diffs: list[Difference] = []
    skipped = 0
    for folder in sorted(set(source.folders) | set(target.folders)):
        if folder not in target.folders:
            diffs.append(Difference("folders", folder, "missing on the target"))
            continue
        if folder not in source.folders:
            if target.folders[folder]:  # an empty extra folder (e.g. a parent) is harmless
                diffs.append(Difference("folders", folder, "extra folder on the target"))
            continue
        wanted = list(source.folders[folder])
        if skip is not None:
            kept = [m for m in wanted if not skip(folder, m)]
            skipped_here = {m.sha256 for m in wanted} - {m.sha256 for m in kept}
            skipped += len(wanted) - len(kept)
            got = [m for m in target.folders[folder] if m.sha256 not in skipped_here]
            wanted = kept
        else:
            got = list(target.folders[folder])
        diffs.extend(_compare_folder(folder, wanted, got))
    counts = {kind: sum(1 for d in diffs if d.kind == kind) for kind in KINDS}
    return FidelityReport(tuple(diffs), skipped, skip_reason if skipped else "", counts)


def _compare_folder(
    folder: str, wanted: Sequence[MessageFacts], got: Sequence[MessageFacts]
) -> list[Difference]:
    diffs: list[Difference] = []
    if len(wanted) != len(got):
        diffs.append(Difference("count", folder, f"source {len(wanted)}, target {len(got)}"))
    pairs, src_left, dst_left = _pair(wanted, got, key=lambda m: m.sha256)
    altered, src_left, dst_left = _pair(src_left, dst_left, key=lambda m: m.core)
    for want, _ in altered:
        detail = f"{want.sha256[:12]}: altered (equal once {'/'.join(TOOL_HEADERS)} is removed)"
        diffs.append(Difference("bytes", folder, detail))
    for side, left in (("missing on the target", src_left), ("extra on the target", dst_left)):
        for message in left:
            detail = f"body {message.sha256[:12]} ({message.size} B) {side}"
            diffs.append(Difference("bytes", folder, detail))
    for want, have in pairs + altered:
        diffs.extend(_compare_pair(folder, want, have))
    return diffs


Pairs = list[tuple[MessageFacts, MessageFacts]]


def _pair(
    wanted: Sequence[MessageFacts], got: Sequence[MessageFacts], key: Callable[[MessageFacts], str]
) -> tuple[Pairs, list[MessageFacts], list[MessageFacts]]:
    """Pair messages with equal ``key`` (identical facts first); return the leftovers too."""
    pool: dict[str, list[MessageFacts]] = defaultdict(list)
    for message in got:
        pool[key(message)].append(message)
    pairs: Pairs = []
    left: list[MessageFacts] = []
    for message in sorted(wanted, key=lambda m: m not in pool.get(key(m), ())):
        candidates = pool.get(key(message))
        if not candidates:
            left.append(message)
            continue
        match = message if message in candidates else candidates[0]
        candidates.remove(match)
        pairs.append((message, match))
    return pairs, left, [m for group in pool.values() for m in group]


def _compare_pair(folder: str, want: MessageFacts, have: MessageFacts) -> list[Difference]:
    diffs = []
    tag = want.sha256[:12]
    if want.system_flags != have.system_flags:
        detail = f"{tag}: {_fmt(want.system_flags)} -> {_fmt(have.system_flags)}"
        diffs.append(Difference("flags", folder, detail))
    if want.keywords != have.keywords:
        detail = f"{tag}: {_fmt(want.keywords)} -> {_fmt(have.keywords)}"
        diffs.append(Difference("keywords", folder, detail))
    if not _same_instant(want.internaldate, have.internaldate):
        detail = f"{tag}: {want.internaldate} -> {have.internaldate}"
        diffs.append(Difference("dates", folder, detail))
    return diffs


def _same_instant(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b  # aware datetimes compare as instants


def _fmt(flags: frozenset[str]) -> str:
    return "(" + " ".join(sorted(flags)) + ")"


def merge(reports: Mapping[str, FidelityReport]) -> FidelityReport:
    """One report for several users (folders prefixed with the user)."""
    diffs = tuple(
        Difference(d.kind, f"{user}:{d.folder}", d.detail)
        for user, report in reports.items()
        for d in report.differences
    )
    counts = {kind: sum(1 for d in diffs if d.kind == kind) for kind in KINDS}
    skipped = sum(r.skipped for r in reports.values())
    reason = next((r.skip_reason for r in reports.values() if r.skip_reason), "")
    return FidelityReport(diffs, skipped, reason, counts)
