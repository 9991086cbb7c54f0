"""A deterministic corpus of realistic (and some malformed) mail for tests and benchmarks.

``generate(spec)`` yields the same bytes for the same spec on every run and machine (for
a given Python minor version, whose ``random`` algorithms it relies on): all choices come
from one ``random.Random(spec.seed)``, and the text it slices from is built from fixed
seeds (see :mod:`mailferry.rig.textpool`); no clock, uuid or hash order is involved.
``write_maildir`` (re-exported here) puts the messages straight into a Maildir++ tree
that Dovecot serves as is.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mailferry.rig import mailgen, mailparts
from mailferry.rig.errors import RigError
from mailferry.rig.maildir import WriteStats, write_maildir

__all__ = [
    "DEFAULT_FOLDERS",
    "CorpusSpec",
    "GeneratedMessage",
    "WriteStats",
    "generate",
    "write_maildir",
]

DEFAULT_FOLDERS: tuple[str, ...] = (
    "INBOX",
    "INBOX/Kvitteringer",
    "INBOX/Nyhedsbreve",
    "Sent",
    "Drafts",
    "Trash",
    "Junk",
    "Archive",
    "Archive/2019",
    "Økonomi & Løn",
    "Projekter/Æbler/2019",
    "Kunder/Tyskland/Entwürfe",
    "客户/北京",
    "R&D",
    "Gamle mails",
)

_FOLDER_WEIGHTS = {"INBOX": 30, "Sent": 15, "Archive": 10, "Trash": 5, "Junk": 4, "Drafts": 1}
_CUSTOM_KEYWORDS = ("Vigtigt", "Projekt_X", "$label1", "Opfoelgning")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_KiB = 1024
_MiB = 1024 * 1024


@dataclass(frozen=True)
class CorpusSpec:
    """What to generate. Folder names are decoded, with ``/`` as the hierarchy separator.

    Sizes: ``small_fraction`` of messages are 1-2 KiB, ``large_count`` messages are
    large (``large_size`` bytes range, e.g. up to 40 MiB), the rest are log-uniform in
    ``size_range``. ``malformed_fraction`` of messages get one malformed kind each (kinds
    assigned round-robin, so all kinds appear once there are enough).
    """

    seed: int = 1
    messages: int = 200
    folders: tuple[str, ...] = DEFAULT_FOLDERS
    size_range: tuple[int, int] = (2 * _KiB, 50 * _KiB)
    small_fraction: float = 0.05
    large_count: int = 0
    large_size: tuple[int, int] = (1 * _MiB, 40 * _MiB)
    malformed_fraction: float = 0.05
    missing_message_id_fraction: float = 0.03
    duplicate_message_ids: int = 1
    deleted_fraction: float = 0.01
    date_range: tuple[datetime, datetime] = (
        datetime(2012, 1, 1, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    folder_weights: tuple[tuple[str, int], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.messages < 0 or self.large_count > self.messages:
            raise RigError("need 0 <= large_count <= messages")
        if not self.folders:
            raise RigError("a corpus needs at least one folder")
        low, high = self.size_range
        if not 0 < low <= high:
            raise RigError(f"bad size_range {self.size_range}")
        start, end = self.date_range
        if start.tzinfo is None or end.tzinfo is None or start >= end:
            raise RigError("date_range must be two aware datetimes, oldest first")


@dataclass(frozen=True)
class GeneratedMessage:
    """One message: where it goes, its bytes, flags (system flags and keywords), date.

    ``data`` is what is stored; ``imap_data`` is what an IMAP server such as Dovecot
    returns for BODY[] (bare LF turned into CRLF; identical for all but ``bare-lf``) and
    ``imap_size`` its length (RFC822.SIZE; Maildir's ``W=``).
    """

    folder: str
    data: bytes
    flags: tuple[str, ...]
    internaldate: datetime
    kind: str
    message_id: str | None
    index: int
    imap_size: int

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def imap_data(self) -> bytes:
        return _BARE_LF.sub(b"\r\n", self.data)

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def imap_sha256(self) -> str:
        return hashlib.sha256(self.imap_data).hexdigest()


def generate(spec: CorpusSpec) -> Iterator[GeneratedMessage]:
    """Yield ``spec.messages`` messages, deterministically for ``spec.seed``."""
    rng = random.Random(spec.seed)
    plan = _Plan.make(rng, spec)
    message_ids: list[str] = []
    for index in range(spec.messages):
        folder = plan.folder_for(rng, index)
        internaldate = plan.internaldate(rng)
        kind = plan.kinds.get(index) or rng.choices(mailgen.NORMAL_KINDS, mailgen.NORMAL_WEIGHTS)[0]
        message_id = _message_id(rng, index, spec, plan, message_ids)
        env = _envelope(rng, internaldate, message_id)
        size = plan.size_for(rng, index, spec)
        data = mailgen.build(rng, kind, size, env)
        flags = _flags(rng, folder, spec)
        imap_size = len(data) if kind != "bare-lf" else len(_BARE_LF.sub(b"\r\n", data))
        yield GeneratedMessage(
            folder, data, flags, internaldate, kind, message_id, index, imap_size
        )


@dataclass(frozen=True)
class _Plan:
    """Decisions made once per corpus: which messages are large, malformed, duplicates."""

    folders: tuple[str, ...]
    weights: tuple[int, ...]
    kinds: dict[int, str]
    large: frozenset[int]
    duplicates: frozenset[int]
    start: datetime
    span_seconds: int

    @classmethod
    def make(cls, rng: random.Random, spec: CorpusSpec) -> _Plan:
        explicit = dict(spec.folder_weights)
        weights = tuple(explicit.get(name, _FOLDER_WEIGHTS.get(name, 3)) for name in spec.folders)
        indices = list(range(spec.messages))
        rng.shuffle(indices)
        large = indices[: spec.large_count]
        rest = indices[spec.large_count :]
        malformed_count = round(spec.messages * spec.malformed_fraction)
        kinds = {i: mailgen.LARGE_KIND for i in large}
        for position, index in enumerate(rest[:malformed_count]):
            kinds[index] = mailgen.MALFORMED_KINDS[position % len(mailgen.MALFORMED_KINDS)]
        candidates = rest[malformed_count:]
        duplicates = frozenset(sorted(candidates[: spec.duplicate_message_ids * 2])[1::2])
        start, end = spec.date_range
        span = int((end - start).total_seconds())
        return cls(spec.folders, weights, kinds, frozenset(large), duplicates, start, span)

    def folder_for(self, rng: random.Random, index: int) -> str:
        if index < len(self.folders):
            return self.folders[index]  # every folder holds at least one message
        return rng.choices(self.folders, self.weights)[0]

    def internaldate(self, rng: random.Random) -> datetime:
        return self.start + timedelta(seconds=rng.randrange(self.span_seconds + 1))

    def size_for(self, rng: random.Random, index: int, spec: CorpusSpec) -> int:
        if index in self.large:
            return rng.randint(*spec.large_size)
        if rng.random() < spec.small_fraction:
            return rng.randint(_KiB, 2 * _KiB)
        low, high = spec.size_range
        return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _message_id(
    rng: random.Random, index: int, spec: CorpusSpec, plan: _Plan, seen: list[str]
) -> str | None:
    if index in plan.duplicates and seen:
        return seen[-1]  # the same Message-ID on two different messages (real life)
    if rng.random() < spec.missing_message_id_fraction:
        return None
    domain = mailparts.DOMAINS[index % len(mailparts.DOMAINS)]
    value = f"<{rng.getrandbits(64):016x}.{index}@{domain}>"
    seen.append(value)
    return value


def _envelope(
    rng: random.Random, internaldate: datetime, message_id: str | None
) -> mailgen.Envelope:
    sent = internaldate - timedelta(seconds=rng.randrange(5, 3600))
    recipient = rng.choice(mailparts.ADDRESSES)
    subject = rng.choice(mailparts.SUBJECTS) if rng.random() < 0.97 else mailparts.FOLDED_SUBJECT
    return mailgen.Envelope(
        date=mailparts.rfc5322_date(sent, rng.randrange(12)),
        sender=rng.choice(mailparts.ADDRESSES),
        recipient=recipient,
        cc=rng.choice(mailparts.ADDRESSES) if rng.random() < 0.2 else None,
        subject=subject,
        message_id=message_id.encode("ascii") if message_id else None,
        relay_ip=rng.randrange(1, 255),
        queue_id=rng.getrandbits(40),
    )


def _flags(rng: random.Random, folder: str, spec: CorpusSpec) -> tuple[str, ...]:
    flags: list[str] = []
    top = folder.split("/", 1)[0]
    if top == "Drafts":
        flags.append("\\Draft")
    if top in ("Sent", "Drafts") or rng.random() < 0.8:
        flags.append("\\Seen")
    if rng.random() < 0.15:
        flags.append("\\Answered")
    if rng.random() < 0.07:
        flags.append("\\Flagged")
    if rng.random() < spec.deleted_fraction:
        flags.append("\\Deleted")
    if rng.random() < 0.05:
        flags.append("$Forwarded")
    if top == "Junk" and rng.random() < 0.9:
        flags.append("$Junk")
    elif rng.random() < 0.01:
        flags.append("$NotJunk")
    if rng.random() < 0.04:
        flags.append(rng.choice(_CUSTOM_KEYWORDS))
    return tuple(flags)
