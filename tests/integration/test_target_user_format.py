"""``--target-user-format``: a target that knows its users by local part only (Dovecot
without virtual domains: the rig's users here are plain names), reached as its master
user and with SASL PLAIN authzid while the CSV gives full addresses. Without the format
the same run fails: the target has no user named by the address."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mailferry.rig import CorpusSpec, DovecotServer, generate
from tests.conftest import MASTER_USER, MakeUser
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view
from tests.integration.support import migrate_args, write_csv

DOMAIN = "corp.example"


@pytest.mark.parametrize("login", ["master-user", "admin-authzid"])
def test_a_target_that_knows_users_by_local_part(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path, login: str,
) -> None:  # fmt: skip
    user = make_user(f"local-{login[:5]}-")  # on both servers, by its name alone
    dovecot_source.write_maildir(user.name, generate(CorpusSpec(seed=8800, messages=12)))
    csv = write_csv(tmp_path / "users.csv", [(f"{user.name}@{DOMAIN}", user.name, user.password)])
    target = f"imap://127.0.0.1:{dovecot_target.imap_port}"
    env = {**os.environ, "MAILFERRY_TARGET_PASSWORD": MASTER_USER.password}

    def run(*extra: str, name: str) -> tuple[int, dict[str, object], str]:
        report = tmp_path / f"{name}.json"
        args = [*migrate_args(dovecot_source, csv, target, tmp_path / f"{name}.db", report),
                "--target-login", login, "--target-admin", MASTER_USER.name,
                "--processes", "1", "--max-attempts", "1", *extra]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        return done.returncode, json.loads(report.read_text()), done.stdout + done.stderr

    code, report, output = run(name="by-address")
    assert code == 1 and report["FailedCount"] == 1, output  # no user named by the address
    code, report, output = run("--target-user-format", "{local}", name="by-local-part")
    assert code == 0 and report["SyncedCount"] == 1, output
    own = migrated(read_view(dovecot_source, Login(user.name, user.password)))
    copied = non_empty(read_view(dovecot_target, Login(user.name, user.password)))
    assert count(own) > 0 and differences(own, copied) == []
    assert MASTER_USER.password not in output
