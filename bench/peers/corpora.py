"""The benchmark's standard corpora, written straight into the SOURCE's Maildirs.

small: 3 users, 10,000 messages, ~400 MB, incl. exactly two big messages: one of
~36.0e6 bytes (under mailferry's 35 MiB = 36,700,160 B limit: copied) and one of
~37.5e6 bytes (over it: mailferry skips it as a LargeItem, as documented).
large: 1 user, 100,000 messages of 2-20 KB.

Every user gets the rig's default folders (non-ASCII names, ``R&D``, nesting), flags
and keywords; no ``\\Deleted`` messages (tools differ on purpose there).
``add_messages`` appends 100 new messages per user for the incremental run and
returns their files, so ``remove_files`` can restore the source for the next tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailferry.rig.corpus import CorpusSpec, GeneratedMessage, generate
from mailferry.rig.dovecot import DovecotServer

KIB = 1024
MAILFERRY_MAX_MESSAGE = 36_700_160  # 35 MiB: mailferry's documented default limit
INCREMENT = 100


@dataclass(frozen=True)
class BenchUser:
    name: str
    password: str
    spec: CorpusSpec


@dataclass(frozen=True)
class Corpus:
    name: str
    users: tuple[BenchUser, ...]

    @property
    def planned_messages(self) -> int:
        return sum(u.spec.messages for u in self.users)


def _spec(seed: int, messages: int, **extra: object) -> CorpusSpec:
    values: dict[str, object] = {
        "seed": seed,
        "messages": messages,
        "size_range": (4 * KIB, 120 * KIB),
        "deleted_fraction": 0.0,
    }
    values.update(extra)
    return CorpusSpec(**values)  # type: ignore[arg-type]


def _n(messages: int, scale: float) -> int:
    return max(20, round(messages * scale))


def small_corpus(scale: float = 1.0) -> Corpus:
    """``scale`` < 1 shrinks the message counts (not the two big ones): for trial runs."""
    return Corpus(
        "small",
        (
            BenchUser(
                "anna@bench.example",
                "anna-pw",
                _spec(101, _n(4000, scale), large_count=1, large_size=(36_000_000, 36_000_000)),
            ),
            BenchUser(
                "bo@bench.example",
                "bo-pw",
                _spec(102, _n(3500, scale), large_count=1, large_size=(37_500_000, 37_500_000)),
            ),
            BenchUser("carl@bench.example", "carl-pw", _spec(103, _n(2500, scale))),
        ),
    )


def large_corpus(scale: float = 1.0) -> Corpus:
    spec = _spec(201, _n(100_000, scale), size_range=(2 * KIB, 20 * KIB), small_fraction=0.0)
    return Corpus("large", (BenchUser("dora@bench.example", "dora-pw", spec),))


CORPORA = {"small": small_corpus, "large": large_corpus}


def messages_of(user: BenchUser) -> Iterator[GeneratedMessage]:
    return generate(user.spec)


def increment_of(user: BenchUser) -> Iterator[GeneratedMessage]:
    """The same 100 new messages every time (a seed of their own, all folders)."""
    spec = CorpusSpec(
        seed=user.spec.seed + 10_000,
        messages=INCREMENT,
        folders=user.spec.folders,
        size_range=(4 * KIB, 60 * KIB),
        deleted_fraction=0.0,
        malformed_fraction=0.0,
    )
    return generate(spec)


@dataclass(frozen=True)
class BuildStats:
    messages: int
    bytes: int
    largest: tuple[int, ...]  # sizes of messages over 1 MB, for the report


def build(source: DovecotServer, corpus: Corpus) -> BuildStats:
    """Write every user's corpus into the (fresh) source server."""
    count = total = 0
    largest: list[int] = []
    for user in corpus.users:
        source.add_user(user.name, user.password)
        source.reset_user(user.name)

        def tracked(user: BenchUser = user) -> Iterator[GeneratedMessage]:
            for message in messages_of(user):
                if message.imap_size > 1_000_000:
                    largest.append(message.imap_size)
                yield message

        stats = source.write_maildir(user.name, tracked())
        count += stats.messages
        total += stats.bytes
    return BuildStats(count, total, tuple(sorted(largest)))


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.parent.name == "cur" and p.is_file()}


def add_messages(source: DovecotServer, corpus: Corpus) -> list[Path]:
    """Drop 100 new messages into each user's source Maildir; returns the new files."""
    added: list[Path] = []
    for user in corpus.users:
        root = source.user_mail_dir(user.name)
        before = _files(root)
        source.write_maildir(user.name, increment_of(user))
        added.extend(sorted(_files(root) - before))
    return added


def remove_files(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
