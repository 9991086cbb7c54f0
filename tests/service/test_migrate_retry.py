"""``mailferry migrate`` backs off and continues when throttled, as the service does.

Real Dovecot on both sides, each behind a fault proxy (``mailferry.rig.fault_proxy``):
the target's APPENDs are throttled, the source's UID FETCH is answered with BYE. The
suggested backoff times are 1 ms and ``--retry-base`` is 10 ms, so the test is quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from mailferry.rig.fault_proxy import FaultProxy
from mailferry.service.context import ServiceSettings
from mailferry.service.oneshot.retry import RetrySettings
from tests.conftest import MASTER_USER
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view

MakeUser = Callable[..., RigAccount]


def test_the_defaults_are_the_services() -> None:
    service, migrate = ServiceSettings(), RetrySettings()
    assert migrate.max_attempts == service.max_attempts
    assert migrate.base_seconds == service.retry_base_seconds
    assert migrate.max_seconds == service.retry_max_seconds


def migrate_through(
    source: FaultProxy, target: FaultProxy, account: RigAccount, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    csv = tmp_path / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\r\n{account.name}@example.test,"
                   f"{account.name},{account.password}\r\n")  # fmt: skip
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "mailferry", "migrate",
            "--source-server", "127.0.0.1", "--port", str(source.port), "--security", "None",
            "--csv", str(csv), "--target", f"imap://127.0.0.1:{target.port}",
            "--target-login", "admin-authzid", "--target-admin", MASTER_USER.name,
            "--state", str(tmp_path / "state.db"), "--report", str(report),
            "--retry-base", "10ms", *extra,
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "MAILFERRY_TARGET_PASSWORD": MASTER_USER.password},
    )  # fmt: skip
    assert report.exists(), done.stdout + done.stderr
    (user,) = json.loads(report.read_text())["Users"]
    return done, user


def source_user(server: DovecotServer, target: DovecotServer, make_user: MakeUser) -> RigAccount:
    account = make_user("retry", servers=(server,))
    server.write_maildir(account.name, generate(CorpusSpec(seed=97, messages=25)))
    target.add_user(f"{account.name}@example.test", "unused-target-password")
    return account


def test_throttled_appends_and_a_bye_are_waited_out_and_nothing_is_copied_twice(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    account = source_user(dovecot_source, dovecot_target, make_user)
    with (
        FaultProxy("127.0.0.1", dovecot_source.imap_port) as source,
        FaultProxy("127.0.0.1", dovecot_target.imap_port) as target,
    ):
        target.throttle("APPEND", 3)
        source.bye_after_commands(1, command="UID FETCH")
        done, user = migrate_through(source, target, account, tmp_path)
        source_faults, target_faults = source.counts().faults, target.counts().faults
    assert done.returncode == 0, done.stdout + done.stderr
    assert dict(source_faults) == {"bye": 1} and dict(target_faults) == {"throttle": 3}
    assert user["Status"] == "Synced"
    waits = [line for line in done.stdout.splitlines() if ": waiting 10 ms before" in line]
    assert sum("BYE: Server busy" in line for line in waits) == 1, done.stdout
    throttled = sum("NO [THROTTLED] Request is throttled" in line for line in waits)
    assert 1 <= throttled <= 3 and len(waits) == 1 + throttled  # 2 sessions: 2 at once
    expected = migrated(read_view(dovecot_source, Login(account.name, account.password)))
    login = Login(MASTER_USER.name, MASTER_USER.password, authzid=f"{account.name}@example.test")
    copied = non_empty(read_view(dovecot_target, login))
    assert differences(expected, copied) == []  # every message once: none lost, none twice
    assert count(copied) == user["SyncedItemCount"] > 15


def test_throttling_that_never_ends_fails_the_user_after_the_attempts(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    account = source_user(dovecot_source, dovecot_target, make_user)
    with (
        FaultProxy("127.0.0.1", dovecot_source.imap_port) as source,
        FaultProxy("127.0.0.1", dovecot_target.imap_port) as target,
    ):
        target.throttle("APPEND", 10_000)
        done, user = migrate_through(source, target, account, tmp_path, "--max-attempts", "3")
        throttled = target.counts().fault("throttle")
    assert done.returncode == 1, done.stdout + done.stderr
    assert user["Status"] == "Failed" and user["ErrorType"] == "Throttled"
    assert "Request is throttled" in user["Error"] and "after 3 attempts" in user["Error"]
    assert sum("waiting" in line for line in done.stdout.splitlines()) == 2
    assert throttled >= 3  # each attempt stopped at a throttled APPEND
