"""``kill -9`` of ``mailferry migrate`` while a 30 MB APPEND is on the wire, then the same
command again: every message ends up on the target exactly once.

The target is reached through a proxy that slows the upload, so the test sees the big
APPEND in flight (bytes forwarded, and a pending pair in the state database) before
it kills the process.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from mailferry.rig import DovecotServer, RigAccount
from mailferry.rig.maildir import RigMessage as Message
from tests.conftest import MASTER_USER, MakeUser
from tests.integration.mailview import (
    Login,
    count,
    differences,
    hashes,
    migrated,
    non_empty,
    read_view,
)
from tests.integration.slow_proxy import SlowProxy
from tests.integration.support import migrate_args, new_address, write_csv

BIG_ATTACHMENT = 22 * 1024 * 1024  # ~30 MB once base64-encoded
SMALL = 6
SLOW_RATE = 4 * 1024 * 1024  # bytes per second to the target during the first run
KILL_AFTER = 3 * 1024 * 1024  # forwarded bytes: well into the big APPEND
DEADLINE = 60.0


def big_message(when: dt.datetime) -> bytes:
    payload = base64.encodebytes(random.Random(30).randbytes(BIG_ATTACHMENT))
    head = (
        b"From: scanner@example.com\r\nTo: terry@example.com\r\nSubject: the big scan\r\n"
        b"Message-ID: <big-scan@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nSee the scan.\r\n--b1\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    return head + payload.replace(b"\n", b"\r\n") + b"--b1--\r\n"


def small_message(number: int) -> bytes:
    return (
        f"From: ann@example.com\r\nTo: terry@example.com\r\nSubject: small {number}\r\n"
        f"Message-ID: <small-{number}@example.com>\r\n\r\nLittle message {number}\r\n"
    ).encode()


def mailbox(big_when: dt.datetime) -> list[Message]:
    """Three small messages newer than the big one (copied before it), three older."""
    hour = dt.timedelta(hours=1)
    messages = [Message("INBOX", big_message(big_when), ("\\Seen",), big_when)]
    for number in range(SMALL):
        when = big_when + (number + 1) * hour if number < 3 else big_when - number * hour
        messages.append(Message("INBOX", small_message(number), ("\\Seen",)[: number % 2], when))
    return messages


def pairs(state: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as db:
        return list(db.execute("SELECT state, size FROM message_pairs"))


def kill_mid_append(process: subprocess.Popen[bytes], proxy: SlowProxy, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while proxy.upstream_bytes < KILL_AFTER:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"mailferry finished before the big APPEND was seen:\n{tail}")
        assert time.monotonic() < deadline, "the big APPEND never started"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, check=False)


def test_kill9_mid_append_of_30mb_then_resume(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    user: RigAccount = make_user("kill9-")
    messages = mailbox(dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC))
    big_size = len(messages[0].data)
    assert 29_000_000 < big_size < 33_000_000
    dovecot_source.write_maildir(user.name, messages)
    address = new_address("kill9-")
    dovecot_target.add_user(address, "kill9-target-pw")
    csv = write_csv(tmp_path / "users.csv", [(address, user.name, user.password)])
    state, report = tmp_path / "state.db", tmp_path / "report.json"
    env = {**os.environ, "MAILFERRY_TARGET_PASSWORD": MASTER_USER.password}

    with SlowProxy(dovecot_target.host, dovecot_target.imap_port, rate=SLOW_RATE) as proxy:
        target = f"imap://127.0.0.1:{proxy.port}"
        args = [*migrate_args(dovecot_source, csv, target, state, report),
                "--target-login", "master-user", "--target-admin", MASTER_USER.name]  # fmt: skip
        log = tmp_path / "first-run.log"
        with log.open("wb") as output:
            first = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            kill_mid_append(first, proxy, log)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(timeout=10)
        assert proxy.upstream_bytes < big_size  # the big message cannot be complete
        recorded = pairs(state)
        assert ("pending", big_size) in recorded, recorded
        assert not report.exists()
        target_login = Login(address, "kill9-target-pw")
        present = hashes(read_view(dovecot_target, target_login))
        assert len(present) == sum(present.values()) < SMALL + 1
        assert hashlib.sha256(messages[0].data).hexdigest() not in present

        proxy.rate = None
        second = run(args, env)
        assert second.returncode == 0, second.stdout + second.stderr
        resumed = user_report(report)
        third = run(args, env)
        assert third.returncode == 0, third.stdout + third.stderr
        again = user_report(report)

    total = SMALL + 1
    assert resumed["Status"] == "Synced" and resumed["SkippedItemCount"] == 0
    assert resumed["TotalItemsInSourceMailboxCount"] == resumed["SyncedItemCount"] == total
    assert resumed["CopiedThisRunCount"] == total - len(present)
    assert (again["CopiedThisRunCount"], again["SyncedItemCount"]) == (0, total)
    source = read_view(dovecot_source, Login(user.name, user.password))
    on_target = read_view(dovecot_target, target_login)
    assert hashes(on_target) == hashes(source) and count(source) == total
    assert differences(migrated(source), non_empty(on_target)) == []


def user_report(path: Path) -> dict[str, Any]:
    [user] = json.loads(path.read_text())["Users"]
    assert isinstance(user, dict)
    return user
