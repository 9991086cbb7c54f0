"""``mailferry migrate --processes``: validation, dry run and report, Ctrl-C with workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from mailferry.app.oneshot import default_processes
from mailferry.interfaces.cli.main import cli
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from tests.interfaces.test_migrate_cli import MAILFERRY, migrate, source_args, write_csv

MakeUser = Callable[..., RigAccount]


def users_csv(
    server: DovecotServer, make_user: MakeUser, path: Path, messages: int, seeds: tuple[int, ...]
) -> Path:
    rows = []
    for seed in seeds:
        account = make_user("cliproc", servers=(server,))
        server.write_maildir(account.name, generate(CorpusSpec(seed=seed, messages=messages)))
        rows.append((f"{account.name}@example.test", account.name, account.password))
    return write_csv(path, rows)


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_processes_must_be_a_whole_number_from_one(value: str, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "users.csv", [("a@example.test", "a", "p")])
    done = CliRunner().invoke(cli, [
        "migrate", "--source-server", "127.0.0.1", "--csv", str(csv),
        "--target", f"maildir:{tmp_path / 'm'}", "--processes", value,
    ])  # fmt: skip
    assert done.exit_code == 2
    assert "Invalid value for '--processes'" in done.output
    assert not (tmp_path / "m").exists()


def test_the_default_is_half_the_cpus_at_most_one_per_user() -> None:
    cpus = len(os.sched_getaffinity(0))
    assert default_processes(1) == 1
    assert default_processes(1000) == max(1, cpus // 2)
    assert default_processes(0) == 1


def test_dry_run_and_report_with_two_processes(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    csv = users_csv(dovecot_source, make_user, tmp_path / "users.csv", 30, (61, 62))
    target = tmp_path / "maildir"
    done = migrate(*source_args(dovecot_source, csv), "--target", f"maildir:{target}",
                   "--state", str(tmp_path / "state.db"), "--processes", "2", "--dry-run",
                   "--report", str(tmp_path / "report.json"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dry run" in done.stdout and "2 synced, 0 incomplete, 0 failed." in done.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["DryRun"] is True and report["SyncedCount"] == 2
    assert [u["TotalItemsInSourceMailboxCount"] for u in report["Users"]] == [30, 30]
    assert not list(target.rglob("cur/*"))


def test_ctrl_c_stops_the_workers_without_tracebacks(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    csv = users_csv(dovecot_source, make_user, tmp_path / "users.csv", 500, (71, 72))
    target = tmp_path / "maildir"
    command = [*MAILFERRY, "migrate", *source_args(dovecot_source, csv), "--target",
               f"maildir:{target}", "--state", str(tmp_path / "state.db"),
               "--processes", "2"]  # fmt: skip
    # A session of its own: SIGINT goes to its whole process group, as a terminal's Ctrl-C.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as running:  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not list(target.rglob("cur/*")) and time.monotonic() < deadline:
                assert running.poll() is None, running.communicate()
                time.sleep(0.05)
            workers = psutil.Process(running.pid).children(recursive=True)
            assert len(workers) >= 2  # two workers (and multiprocessing's resource tracker)
            os.killpg(running.pid, signal.SIGINT)
            stdout, stderr = running.communicate(timeout=30)
        finally:
            if running.poll() is None:
                os.killpg(running.pid, signal.SIGKILL)
    assert running.returncode not in (0, None), stdout + stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "synced" not in stdout  # it stopped before the summary
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive and len(gone) == len(workers)
