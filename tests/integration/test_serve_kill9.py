"""``kill -9`` of ``mailferry serve`` in the middle of a batch, then a restart: every
job resumes and the batch ends Synced with every message exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.statuses import BatchStatus, UserStatus
from mailferry.service.vault import Vault
from tests.service.service_support import (
    MakeUser,
    address,
    filled_user,
    make_context,
    source_endpoint,
    users_csv,
)

MESSAGES = 600


def serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailferry", "serve", "--poll", "0.2s", "--lease", "30s"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )  # fmt: skip


def digests(root: Path) -> Counter[str]:
    """The multiset of message contents in a Maildir tree (the corpus has messages
    without a Message-ID, and some with the same one, so compare contents)."""
    found: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.is_file() and path.parent.name in ("cur", "new"):
            content = path.read_bytes().replace(b"\r\n", b"\n")  # IMAP serves CRLF
            found[hashlib.sha256(content).hexdigest()] += 1
    return found


def wait_for(condition, seconds: float, step: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def written(root: Path) -> int:
    """Messages on the target's disk now (the job's counters are written only every
    couple of seconds: a whole batch can be copied between two of them)."""
    return sum(1 for path in root.glob("*/**/*") if path.parent.name in ("cur", "new"))


def test_kill_9_mid_batch_then_restart_loses_and_duplicates_nothing(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    key = Vault.generate_key()
    ctx = make_context(tmp_path, key=key)
    accounts = [
        filled_user(dovecot_source, make_user, seed=500 + n, messages=MESSAGES) for n in range(4)
    ]
    csv = users_csv([(address(a), f"{a.name}", a.password) for a in accounts])
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    batch = batches.new_batch(ctx, batches.BatchRequest("Crashy", "Src", csv, auto_start=True))
    env = {
        **os.environ,
        "MAILFERRY_DB": f"sqlite:///{tmp_path / 'mailferry.db'}",
        "MAILFERRY_KEY": key.decode(),
        "MAILFERRY_TARGET": f"maildir:{tmp_path / 'mail'}",
    }
    log = tmp_path / "serve.log"

    first = serve(env, log)
    try:
        target = tmp_path / "mail"
        assert wait_for(lambda: written(target) >= MESSAGES // 2, 120, 0.01), log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    partly = written(tmp_path / "mail")
    assert partly < MESSAGES * len(accounts), "the batch finished before the kill"

    second = serve(env, log)
    try:
        assert wait_for(
            lambda: batches.get_batch(ctx, "Crashy").status == BatchStatus.SYNCED, 180
        ), log.read_text()
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()

    recovered = ctx.store.events(batch_id=batch.id, kinds=["job_recovered"])
    assert recovered, "the restarted service did not take over the dead one's jobs"
    for account in accounts:
        user = ctx.store.users(email_key=address(account).casefold())[0]
        assert user.status == UserStatus.SYNCED and user.error is None, user.error
        assert user.synced_item_count == MESSAGES
        copied_here = digests(tmp_path / "mail" / address(account))
        assert sum(copied_here.values()) == MESSAGES
        assert copied_here == digests(dovecot_source.user_mail_dir(account.name))
    ctx.store.close()
