"""A one-shot run's rotated refresh tokens, written back to the settings file they came from.

A server that rotates refresh tokens retires the old one at each use: were the new one
kept only in memory, the next ``migrate`` with the same ``--oauth-settings-file`` would
be refused. ``RefreshTokensFile`` is the ``on_rotate`` of such a run: it replaces the
mailbox's token in the file's ``refresh_tokens`` under an exclusive lock (the run's
worker processes share the file), writes a copy readable by its owner only and renames
it over the file. It pickles as its path, so each worker process writes for itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailferry.errors import InvalidSetting


@dataclass(frozen=True)
class RefreshTokensFile:
    """``on_rotate(user, token)`` for the JSON settings file at ``path``."""

    path: Path

    def __call__(self, user: str, token: str) -> None:
        lock = self.path.with_name(f".{self.path.name}.lock")
        with open(lock, "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            settings = self._load()
            tokens = settings.get("refresh_tokens")
            as_text = isinstance(tokens, str)
            if as_text:
                tokens = json.loads(str(tokens))
            if not isinstance(tokens, dict):
                return
            wanted = user.casefold()
            key = next((k for k in tokens if str(k).casefold() == wanted), user)
            tokens[key] = token
            settings["refresh_tokens"] = json.dumps(tokens) if as_text else tokens
            self._replace(settings)

    def _load(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidSetting([f"{self.path}: can't keep a rotated refresh token"]) from exc
        return loaded if isinstance(loaded, dict) else {}

    def _replace(self, settings: dict[str, Any]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump(settings, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
