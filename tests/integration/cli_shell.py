"""``mailferry`` command lines run through bash, as an administrator types them, for the
end-to-end CLI tests.

``Shell`` runs each line with ``bash -c`` in a fresh environment (no ``MAILFERRY_*``
variable inherited) and keeps every stdout/stderr, so a test can prove at the end that
no secret was ever printed. ``Serve`` runs ``mailferry serve`` in the background with
its stderr in a log file and always stops it. Every wait is bounded in time and tries.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from tests.integration.mailview import Login, hashes, imap_session, read_view

T = TypeVar("T")
COMMAND_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


@dataclass
class Shell:
    """bash in ``cwd`` with ``env``; ``transcript`` is everything ever printed."""

    cwd: Path
    env: dict[str, str]
    transcript: list[str] = field(default_factory=list)

    def run(
        self,
        command: str,
        *,
        code: int | None = 0,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command``; assert its exit code unless ``code`` is None."""
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command}"],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        self.transcript += [done.stdout, done.stderr]
        if code is not None:
            assert done.returncode == code, (
                f"{command!r} exited {done.returncode}, not {code}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def json(self, command: str, **kwargs: Any) -> Any:
        return json.loads(self.run(command, **kwargs).stdout)


def new_shell(cwd: Path, **extra: str) -> Shell:
    """A shell whose MAILFERRY_HOME is ``cwd/home`` (fresh database and vault key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFERRY_")}
    env.update(MAILFERRY_HOME=str(cwd / "home"), COLUMNS="200", **extra)
    return Shell(cwd, env)


def wait_for(
    probe: Callable[[], T | None], *, seconds: float, what: str, interval: float = 0.3
) -> T:
    """``probe()``'s first truthy value, trying at most ``seconds`` (and 1000 times)."""
    deadline = time.monotonic() + seconds
    for _ in range(1000):
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


class Serve:
    """``mailferry serve`` in the background (``exec``'d by bash, so the pid is serve's)."""

    def __init__(self, shell: Shell, log: Path, *options: str) -> None:
        self.shell = shell
        self.log = log
        line = " ".join(["exec mailferry serve", *options])
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                ["bash", "-c", line], cwd=shell.cwd, env=shell.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink,
            )  # fmt: skip
        self.returncode: int | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self, db: Path, seconds: float = 30.0) -> None:
        """Until its first heartbeat is in the database (CLI commands then defer to it)."""

        def registered() -> bool:
            assert self.process.poll() is None, f"serve exited early:\n{self.log.read_text()}"
            if not db.exists():
                return False
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
                    return bool(connection.execute("SELECT count(*) FROM services").fetchone()[0])
            except sqlite3.Error:
                return False

        wait_for(registered, seconds=seconds, what="mailferry serve to register")

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it does not end in time; the exit code."""
        if self.returncode is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(STOP_TIMEOUT)
            self.returncode = self.process.returncode
        return self.returncode


def rig_mailbox(
    source: DovecotServer,
    target: DovecotServer,
    address: str,
    *,
    messages: int,
    seed: int,
    small: bool = False,
) -> RigAccount:
    """A source user ``address`` holding ``messages`` messages, and its empty target."""
    account = RigAccount(address, f"own-{seed}-{address.split('@')[0]}-Pw!")
    source.add_user(account.name, account.password)
    target.add_user(account.name, f"target-{seed}-pw")
    spec = CorpusSpec(seed=seed, messages=messages, deleted_fraction=0.0)
    if small:
        spec = dataclasses.replace(spec, size_range=(600, 1200), small_fraction=0.0)
    source.write_maildir(account.name, generate(spec))
    return account


def admin_login(address: str, admin: RigAccount) -> Login:
    """SASL PLAIN as the master user acting for ``address``."""
    return Login(admin.name, admin.password, authzid=address)


def bodies(server: DovecotServer, login: Login) -> list[str]:
    """The sorted sha256 of every message in the mailbox (duplicates kept)."""
    return sorted(hashes(read_view(server, login)).elements())


def append(server: DovecotServer, login: Login, messages: Iterable[bytes]) -> None:
    """New mail arriving: IMAP APPEND to INBOX."""
    with imap_session(server, login) as client:
        for message in messages:
            client.append("INBOX", message)


def leaks(secrets: Iterable[str], files: Iterable[Path], texts: Iterable[str]) -> list[str]:
    """Where any of ``secrets`` appears (files read as bytes, texts as given)."""
    found = []
    for path in files:
        data = path.read_bytes() if path.exists() else b""
        found += [f"{s!r} in {path}" for s in secrets if s.encode() in data]
    joined = "\n".join(texts)
    found += [f"{s!r} in a command's output" for s in secrets if s in joined]
    return found
