"""``migrate`` without ``--state``: one state file per source and target, in the home.

Real Dovecot source, Maildir targets; ``MAILFERRY_HOME`` is the test's own directory.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate


def migrate(
    cwd: Path, home: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    report = cwd / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "mailferry", "migrate", *args, "--report", str(report)],
        capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
        env={**os.environ, "MAILFERRY_HOME": str(home)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads(report.read_text())["Users"]


def test_state_is_found_from_any_directory_and_kept_apart_per_target(
    dovecot_source: DovecotServer, make_user: Callable[..., RigAccount], tmp_path: Path
) -> None:
    account = make_user("statehome", servers=(dovecot_source,))
    dovecot_source.write_maildir(
        account.name,
        generate(CorpusSpec(seed=5, messages=12, folders=("INBOX", "Work"), deleted_fraction=0)),
    )
    csv = tmp_path / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\r\n{account.name}@example.test,"
                   f"{account.name},{account.password}\r\n")  # fmt: skip
    source = ["--source-server", "127.0.0.1", "--port", str(dovecot_source.imap_port),
              "--security", "None", "--csv", str(csv), "--processes", "1"]  # fmt: skip
    home, first_cwd, second_cwd = tmp_path / "home", tmp_path / "one", tmp_path / "two"
    for directory in (first_cwd, second_cwd):
        directory.mkdir()
    target = ["--target", f"maildir:{tmp_path / 'mail-a'}"]

    _, first = migrate(first_cwd, home, *source, *target)
    _, second = migrate(second_cwd, home, *source, *target)
    assert first[0]["CopiedThisRunCount"] == first[0]["SyncedItemCount"] == 12
    assert second[0]["CopiedThisRunCount"] == 0  # the same state: nothing copied again
    assert second[0]["SyncedItemCount"] == first[0]["SyncedItemCount"]
    states = sorted((home / "migrate").glob("*.db"))
    assert len(states) == 1 and stat.S_IMODE(states[0].stat().st_mode) == 0o600
    assert not list(first_cwd.glob("*.db")) and not list(second_cwd.glob("*.db"))

    _, other = migrate(first_cwd, home, *source, "--target", f"maildir:{tmp_path / 'mail-b'}")
    assert other[0]["CopiedThisRunCount"] == first[0]["SyncedItemCount"]  # a state of its own
    assert len(list((home / "migrate").glob("*.db"))) == 2

    explicit = tmp_path / "explicit.db"
    _, given = migrate(second_cwd, home, *source, *target, "--state", str(explicit))
    assert given[0]["CopiedThisRunCount"] == 0  # already there on the target: paired again
    assert explicit.exists() and len(list((home / "migrate").glob("*.db"))) == 2
