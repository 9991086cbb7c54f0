"""The three ways of running mailferry the crash loop kills: what one run is, when it
is done, the no-op re-run, ``mailferry verify``, where the target and the state are.

- ``imap``: ``mailferry migrate`` into the TARGET Dovecot as its master user (the
  command line of bench/peers/mailferry_cli.py);
- ``maildir``: the same command into a Maildir directory;
- ``serve``: ``mailferry serve`` running a batch into a Maildir directory (endpoint and
  batch made with the CLI, MAILFERRY_DB / MAILFERRY_KEY / MAILFERRY_TARGET set); one
  run lasts until the batch settles, the no-op re-run is ``batch sync-now --wait``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bench.crash import runs
from bench.crash.views import View, read_imap, read_maildir
from bench.crash.world import World, reset_imap_target
from bench.peers import mailferry_cli
from bench.peers.context import RunContext

from mailferry.service.vault import Vault

IMAP_TARGET_OPTIONS = ("--target-security", "--target-login", "--target-admin")
SETTLED_OK = ("Synced",)
RUNNING = ("Created", "Starting", "Waiting", "Syncing", "IncrementalSyncing")
USER_RUNNING = ("Queued", "Validating", "Syncing", "IncrementalSyncing")
BATCH = "CrashLoop"


def without(argv: Sequence[str], *options: str) -> list[str]:
    """``argv`` without each option in ``options`` and its value."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        else:
            out.append(arg)
    return out


def with_value(argv: Sequence[str], option: str, value: str) -> list[str]:
    out = list(argv)
    out[out.index(option) + 1] = value
    return out


class Scenario:
    """One kind of run; ``prepare`` starts a round in a fresh directory."""

    name = ""
    lf = False  # compare digests with CRLF -> LF (Maildir targets)
    step = runs.POLL  # how often ``done`` is polled

    def __init__(self, world: World, code_env: dict[str, str], extra: Sequence[str] = ()) -> None:
        self.world = world
        self.code_env = code_env  # where the mailferry under test is (bench/crash/code.py)
        self.extra = list(extra)  # more ``mailferry migrate`` options
        self.directory = Path()
        self.argv: list[str] = []
        self.env = runs.environment(code_env)

    # -- per round ---------------------------------------------------------------------

    def prepare(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True)
        ctx = RunContext(
            self.world.corpus,
            self.world.source.imap_port,
            self.world.target.imap_port,
            self.world.target.config_path,
            directory,
        )
        self.argv = mailferry_cli.commands(ctx)[0]

    @property
    def state_db(self) -> Path:
        return self.directory / "state.db"

    @property
    def maildir_root(self) -> Path:
        return self.directory / "mail"

    def launch(self, log: Path) -> subprocess.Popen[bytes]:
        return runs.start(self.argv + self.extra, log, self.env)

    def done(self, process: subprocess.Popen[bytes]) -> bool:
        return process.poll() is not None

    def complete(self, log: Path, timeout: float) -> int:
        """A run to its end; its exit code."""
        return runs.run(self.argv + self.extra, log, self.env, timeout)

    def noop(self, log: Path, timeout: float) -> int:
        return self.complete(log, timeout)

    def begin_incremental(self, log: Path) -> None:
        """The source has changed: make the next run an incremental sync (a migrate run
        is one anyway)."""

    def verify_argv(self) -> list[str]:
        argv = without(self.argv, "--state")
        argv[argv.index("migrate")] = "verify"
        return with_value(argv, "--report", str(self.directory / "verify.json"))

    def verify(self, log: Path, timeout: float) -> int:
        return runs.run(self.verify_argv(), log, self.env, timeout)

    def read_target(self) -> dict[str, View]:
        return {u.name: read_maildir(self.maildir_root / u.name) for u in self.world.users}

    def keep_target(self, destination: Path) -> None:
        """Copy what the target holds into ``destination`` (Maildirs are there already)."""


class MigrateImap(Scenario):
    name = "imap"

    def prepare(self, directory: Path) -> None:
        reset_imap_target(self.world.target, self.world.corpus)
        super().prepare(directory)

    def read_target(self) -> dict[str, View]:
        port = self.world.target.imap_port
        return {u.name: read_imap(port, u.name, u.password, lf=False) for u in self.world.users}

    def keep_target(self, destination: Path) -> None:
        for user in self.world.users:
            home = self.world.target.user_home(user.name)
            if home.exists():
                shutil.copytree(home, destination / "target-homes" / home.name, symlinks=True)
        log = self.world.target.log_path
        if log.exists():
            shutil.copy(log, destination / "target-dovecot.log")


class MigrateMaildir(Scenario):
    name = "maildir"
    lf = True

    def prepare(self, directory: Path) -> None:
        super().prepare(directory)
        argv = with_value(self.argv, "--target", f"maildir:{self.maildir_root}")
        self.argv = without(argv, *IMAP_TARGET_OPTIONS, "--target-password-file")


class Serve(MigrateMaildir):
    name = "serve"
    step = 0.2

    def prepare(self, directory: Path) -> None:
        super().prepare(directory)
        self.env = runs.environment(
            {
                **self.code_env,
                "MAILFERRY_DB": f"sqlite:///{self.state_db}",
                "MAILFERRY_KEY": Vault.generate_key().decode(),
                "MAILFERRY_TARGET": f"maildir:{self.maildir_root}",
            }
        )
        log = directory / "setup.log"
        port = str(self.world.source.imap_port)
        for argv in (
            ["endpoint", "new", "--name", "Src", "--remote-server", "127.0.0.1", "--port", port,
             "--security", "none", "--skip-verification"],
            ["batch", "new", "--name", BATCH, "--source-endpoint", "Src",
             "--csv", str(directory / "users.csv"), "--auto-start", "--no-wait"],
        ):  # fmt: skip
            if runs.run([*runs.MAILFERRY, *argv], log, self.env, 120) != 0:
                raise RuntimeError(f"serve setup failed: {log.read_text()[-2000:]}")

    @property
    def state_db(self) -> Path:
        return self.directory / "mailferry.db"

    def launch(self, log: Path) -> subprocess.Popen[bytes]:
        argv = [*runs.MAILFERRY, "serve", "--poll", "0.2s", "--lease", "30s", "--retry-base", "1s"]
        return runs.start(argv, log, self.env)

    def _query(self, sql: str, *values: object) -> object:
        with sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(sql, values).fetchone()
        return row[0] if row else None

    def batch_status(self) -> str:
        return str(self._query("SELECT status FROM batches WHERE name = ?", BATCH))

    def done(self, process: subprocess.Popen[bytes]) -> bool:
        """Exited, or registered (so past start-up) with the batch and its users settled
        and no sync asked for."""
        if process.poll() is not None:
            return True
        if self._query("SELECT count(*) FROM services WHERE pid = ?", process.pid) == 0:
            return False
        marks = ",".join("?" * len(USER_RUNNING))
        busy = self._query(
            f"SELECT count(*) FROM migration_users WHERE sync_requested OR status IN ({marks})",
            *USER_RUNNING,
        )
        return busy == 0 and self.batch_status() not in RUNNING

    def begin_incremental(self, log: Path) -> None:
        argv = [*runs.MAILFERRY, "batch", "sync-now", BATCH, "--no-wait"]
        if runs.run(argv, log, self.env, 120) != 0:
            raise RuntimeError(f"batch sync-now failed: {log.read_text()[-2000:]}")

    def complete(self, log: Path, timeout: float) -> int:
        """Serve until the batch settles, then SIGTERM: 0 when it ended Synced."""
        process = self.launch(log)
        try:
            settled = runs.wait_until(process, self.done, timeout, self.step)
            process.terminate()
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                runs.kill_group(process)
        status = self.batch_status()
        with log.open("a") as out:
            out.write(f"\n[crash-loop] batch {status}, serve exit {code}\n")
        return 0 if settled and code == 0 and status in SETTLED_OK else 1

    def noop(self, log: Path, timeout: float) -> int:
        argv = [*runs.MAILFERRY, "batch", "sync-now", BATCH, "--wait"]
        code = runs.run(argv, log, self.env, timeout)
        return code if code != 0 or self.batch_status() in SETTLED_OK else 1


SCENARIOS: dict[str, type[Scenario]] = {
    "imap": MigrateImap,
    "maildir": MigrateMaildir,
    "serve": Serve,
}
