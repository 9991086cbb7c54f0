"""What every tool runner gets: where the servers are, who the users are, a work dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.peers.corpora import BenchUser, Corpus

HOST = "127.0.0.1"
MASTER_USER, MASTER_PASSWORD = "admin", "admin-pw"


@dataclass(frozen=True)
class RunContext:
    corpus: Corpus
    source_port: int
    target_port: int
    target_config: Path  # the target's dovecot.conf (for doveadm)
    workdir: Path  # this tool's config and state; kept across full / no-op / +100 runs

    @property
    def users(self) -> tuple[BenchUser, ...]:
        return self.corpus.users

    def user_dir(self, user: BenchUser) -> Path:
        path = self.workdir / user.name.replace("@", "_at_")
        path.mkdir(parents=True, exist_ok=True)
        return path
