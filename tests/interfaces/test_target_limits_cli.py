"""``mailferry migrate --target-preset m365 --max-bytes-per-second`` as a real command:
a real Dovecot source into a Maildir target named as Microsoft 365 would name it (no
Exchange here: the Maildir only shows which names and how fast mailferry writes)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

from mailferry.rig import DovecotServer, RigAccount
from mailferry.rig.maildir import RigMessage as Message
from tests.interfaces.test_migrate_cli import migrate, source_args, write_csv

KiB = 1024


def _message(folder: str, number: int, size: int) -> Message:
    head = f"From: a@example.com\r\nSubject: cli {number}\r\nMessage-ID: <cli-{number}@x>\r\n\r\n"
    body = (b"some text here\r\n" * (size // 16 + 1))[: size - len(head)]
    return Message(
        folder, head.encode() + body, (), dt.datetime(2024, 2, 2, 9, number, tzinfo=dt.UTC)
    )


def test_migrate_with_the_m365_preset_and_a_cap(
    dovecot_source: DovecotServer, make_user: Callable[..., RigAccount], tmp_path: Path
) -> None:
    account = make_user("preset", servers=(dovecot_source,))
    messages = [
        _message(f, n, 64 * KiB) for n, f in enumerate(["INBOX", "Sent", "Trash", "Junk", "A*B"])
    ]
    dovecot_source.write_maildir(account.name, messages)
    address = f"{account.name}@example.test"
    csv = write_csv(tmp_path / "users.csv", [(address, account.name, account.password)])
    target = tmp_path / "maildir"
    rate = 64 * KiB
    started = time.monotonic()
    done = migrate(
        *source_args(dovecot_source, csv), "--target", f"maildir:{target}",
        "--state", str(tmp_path / "state.db"), "--report", str(tmp_path / "report.json"),
        "--target-preset", "m365", "--max-bytes-per-second", str(rate),
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["Users"][0]["Status"] == "Synced"
    folders = {p.name for p in (target / address).iterdir() if p.name.startswith(".")}
    assert {".Sent Items", ".Deleted Items", ".Junk Email", ".A_B"} <= folders, folders
    assert not folders & {".Sent", ".Trash", ".Junk"}
    total = sum(len(m.data) for m in messages)
    assert elapsed >= (total - rate) / rate  # 4 s of bytes past the first second's burst


def test_an_unknown_preset_is_a_usage_error(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "users.csv", [("a@example.test", "a", "pw")])
    done = migrate(
        "--source-server", "127.0.0.1", "--csv", str(csv), "--target", f"maildir:{tmp_path}",
        "--target-preset", "exchange5",
    )  # fmt: skip
    assert done.returncode == 2 and "exchange5" in done.stderr
