"""The servers a crash loop runs against, all under one tmpfs directory.

SOURCE: a maildir Dovecot holding a generated corpus per user (the generator's folders,
flags, keywords, malformed mail, messages without a Message-ID, reused Message-IDs,
a few ``\\Deleted`` ones) plus a few byte-identical copies of messages in the same
folder, the hardest case for finding appended messages again by fingerprint.
TARGET: an sdbox Dovecot with the same users and the master user (bench/peers/machine.py
explains why targets live on tmpfs). Both stop whatever happens: context managers,
and the rig starts Dovecot so that it dies with this process.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.peers.context import MASTER_PASSWORD, MASTER_USER
from bench.peers.corpora import BenchUser, Corpus
from bench.peers.machine import memory_tempdir

from mailferry.rig import CorpusSpec, DovecotServer, GeneratedMessage, generate, make_ca


@dataclass(frozen=True)
class CorpusShape:
    users: int
    messages: int
    exact_duplicates: int  # extra byte-identical copies per user
    seed: int


@dataclass(frozen=True)
class World:
    source: DovecotServer
    target: DovecotServer
    corpus: Corpus
    root: Path  # tmpfs: the servers and every round's work directory

    @property
    def users(self) -> tuple[BenchUser, ...]:
        return self.corpus.users


def make_corpus(shape: CorpusShape) -> Corpus:
    users = tuple(
        BenchUser(
            f"crash{n}@bench.example",
            f"crash{n}-pw",
            CorpusSpec(seed=shape.seed + n, messages=shape.messages),
        )
        for n in range(1, shape.users + 1)
    )
    return Corpus("crash", users)


def with_duplicates(spec: CorpusSpec, copies: int) -> list[GeneratedMessage]:
    """The corpus plus ``copies`` byte-identical copies of some of its messages (same
    folder, same date); every other copy has ``\\Seen`` flipped (read one, unread one)."""
    messages = list(generate(spec))
    rng = random.Random(spec.seed * 7919)
    picked = rng.sample(messages, min(copies, len(messages)))
    return messages + [
        replace(m, index=len(messages) + i, flags=_flip_seen(m.flags) if i % 2 else m.flags)
        for i, m in enumerate(picked)
    ]


def _flip_seen(flags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in flags if f != "\\Seen") if "\\Seen" in flags else (*flags, "\\Seen")


def fill_source(source: DovecotServer, shape: CorpusShape, corpus: Corpus) -> int:
    total = 0
    for user in corpus.users:
        source.reset_user(user.name)
        total += source.write_maildir(
            user.name, with_duplicates(user.spec, shape.exact_duplicates)
        ).messages
    return total


@contextmanager
def world(shape: CorpusShape) -> Iterator[World]:
    with memory_tempdir("mailferry-crash-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        ca = make_ca(root / "ca")
        source = DovecotServer(root / "source", ca, name="source", storage="maildir", fsync=False)
        target = DovecotServer(root / "target", ca, name="target", storage="sdbox", fsync=False)
        corpus = make_corpus(shape)
        for server in (source, target):
            server.add_master_user(MASTER_USER, MASTER_PASSWORD)
            for user in corpus.users:
                server.add_user(user.name, user.password)
        fill_source(source, shape, corpus)
        with source, target:
            yield World(source, target, corpus, root)


def reset_imap_target(target: DovecotServer, corpus: Corpus) -> None:
    """Empty every user's target mailbox (sessions kicked first)."""
    for user in corpus.users:
        target.doveadm("kick", user.name, check=False)
        target.reset_user(user.name)
