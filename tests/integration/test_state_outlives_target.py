"""``mailferry migrate`` never trusts a state database over the target it describes, and
counts every source message: real Dovecot source, a Maildir target that is deleted
between two runs with the same state (the probe that once copied 0 of 9,998 messages
and said Synced)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from tests.interfaces.test_migrate_cli import MAILFERRY, migrate, source_args, write_csv


def test_a_deleted_target_is_filled_again_and_deleted_mail_is_counted(
    dovecot_source: DovecotServer, make_user: Callable[..., RigAccount], tmp_path: Path
) -> None:
    account = make_user("outlived", servers=(dovecot_source,))
    spec = CorpusSpec(seed=31, messages=50, deleted_fraction=0.1, folders=("INBOX", "Archive"))
    messages = list(generate(spec))
    dovecot_source.write_maildir(account.name, messages)
    deleted = sum(1 for m in messages if "\\Deleted" in m.flags)
    assert deleted > 0
    csv = write_csv(tmp_path / "users.csv", [(f"{account.name}@example.test", account.name,
                                              account.password)])  # fmt: skip
    target = tmp_path / "maildir"
    common = [*source_args(dovecot_source, csv), "--target", f"maildir:{target}",
              "--state", str(tmp_path / "state.db")]  # fmt: skip

    def run(report: str) -> dict[str, Any]:
        done = migrate(*common, "--report", str(tmp_path / report))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 synced, 0 incomplete, 0 failed." in done.stdout
        users: list[dict[str, Any]] = json.loads((tmp_path / report).read_text())["Users"]
        return users[0]

    first = run("first.json")
    assert first["TotalItemsInSourceMailboxCount"] == len(messages)
    assert first["SyncedItemCount"] == len(messages) - deleted
    assert first["SkippedItemCount"] == deleted and first["MissingItemCount"] == 0
    assert {item["Kind"] for item in first["SkippedItems"]} == {"Deleted"}
    assert first["PercentageComplete"] == 100

    shutil.rmtree(target)  # the target is gone; the state database is not
    again = run("again.json")
    assert again["CopiedThisRunCount"] == again["SyncedItemCount"] == len(messages) - deleted
    assert again["SkippedItemCount"] == deleted
    verified = subprocess.run(
        [*MAILFERRY, "verify", *common[:-2]], capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    third = run("third.json")
    assert third["CopiedThisRunCount"] == 0  # and nothing twice after the re-validation
