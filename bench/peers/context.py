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

    def peer_config(self, user: BenchUser, name: str, template: str, state_key: str) -> str:
        """Write a peer tool's config for ``user`` once (``template`` takes host, ports,
        user, password and ``state_key``, a fresh directory); return its path."""
        directory = self.user_dir(user)
        path = directory / name
        if not path.exists():
            (directory / state_key).mkdir(exist_ok=True)
            path.write_text(
                template.format(
                    host=HOST,
                    source_port=self.source_port,
                    target_port=self.target_port,
                    user=user.name,
                    password=user.password,
                    **{state_key: directory / state_key},
                )
            )
        return str(path)
