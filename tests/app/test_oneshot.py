"""The one-shot ``migrate`` and ``verify`` through the façade (a state file of their own,
no service database): against a real Dovecot source, into a Maildir and a Dovecot target."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from mailferry.app import Mailferry, MigrationRequest, SourceRequest, TargetRequest, VerifyRequest
from mailferry.app.oneshot import default_processes, migrate, verify
from mailferry.errors import ContentFilterError, CsvValidationError, InvalidSetting
from mailferry.rig import DovecotServer
from mailferry.values.progress import MailboxFinished, MailboxStarted
from tests.conftest import MASTER_USER
from tests.service.service_support import MakeUser, address, filled_user, users_csv


def source(server: DovecotServer) -> SourceRequest:
    return SourceRequest("127.0.0.1", port=server.imaps_port, ca_file=str(server.ca_pem_path))


def test_migrate_then_verify_into_a_maildir(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    account = filled_user(dovecot_source, make_user, seed=21, messages=6)
    csv = users_csv([(address(account), account.name, account.password)])
    target = TargetRequest(f"maildir:{tmp_path / 'mail'}")
    request = MigrationRequest(
        source(dovecot_source), target, csv, state_path=str(tmp_path / "s.db"), processes=1
    )
    events: list[tuple[str, object]] = []
    env = {"MAILFERRY_HOME": str(tmp_path / "home")}
    run = asyncio.run(migrate(request, env, on_event=lambda who, e: events.append((who, e))))
    assert run.ok and [o.status for o in run.outcomes] == ["Synced"]
    assert run.target == f"maildir:{tmp_path / 'mail'}" and not run.dry_run
    assert {who for who, _ in events} == {address(account)}
    kinds = [type(e) for _, e in events]
    assert MailboxStarted in kinds and kinds[-1] is MailboxFinished
    report = run.report()
    assert report["SyncedCount"] == 1 and report["Users"][0]["SyncedItemCount"] == 6
    assert account.password not in str(report)
    checked = asyncio.run(verify(VerifyRequest(source(dovecot_source), target, csv), env))
    assert checked.ok and checked.report()["Result"] == "Match"
    assert checked.report()["Users"][0]["Totals"]["TargetItems"] == 6


def test_migrate_into_dovecot_through_an_opened_facade(
    app: Mailferry, dovecot_source: DovecotServer, dovecot_target: DovecotServer,
    make_user: MakeUser, tmp_path: Path,
) -> None:  # fmt: skip
    account = filled_user(dovecot_source, make_user, seed=22, messages=3)
    dovecot_target.add_user(address(account), "target-side-pw")  # the master user logs in
    csv = users_csv([(address(account), account.name, account.password)])
    target = TargetRequest(
        f"imaps://127.0.0.1:{dovecot_target.imaps_port}", admin_user=MASTER_USER.name,
        secret=MASTER_USER.password, ca_file=str(dovecot_target.ca_pem_path),
    )  # fmt: skip
    request = MigrationRequest(
        source(dovecot_source), target, csv, state_path=str(tmp_path / "t.db"), processes=1,
        content_filter="Received -gt '1990-01-01'",
    )  # fmt: skip
    run = asyncio.run(app.migrate(request))
    assert run.ok, [o.error for o in run.outcomes]
    assert run.content_filter is not None and "1990" in run.content_filter
    again = asyncio.run(app.migrate(request))  # the same state file: an incremental sync
    assert again.outcomes[0].result is not None and again.outcomes[0].result.copied == 0
    assert asyncio.run(app.verify(VerifyRequest(source(dovecot_source), target, csv))).ok


def test_bad_input_is_refused_before_anything_runs(tmp_path: Path) -> None:
    good = users_csv([("a@contoso.example", "a", "pw")])
    maildir = TargetRequest(f"maildir:{tmp_path / 'mail'}")
    src = SourceRequest("127.0.0.1", port=1, security="None")
    env: dict[str, str] = {"MAILFERRY_HOME": str(tmp_path)}
    cases: list[tuple[MigrationRequest, type[Exception], str]] = [
        (MigrationRequest(src, maildir, b"EmailAddress\nx\n"), CsvValidationError, "CSV"),
        (MigrationRequest(src, TargetRequest("ftp://x"), good), InvalidSetting, "ftp"),
        (MigrationRequest(src, TargetRequest("imap://h"), good), InvalidSetting, "password"),
        (MigrationRequest(src, TargetRequest(), good), InvalidSetting, "needs its target"),
        (MigrationRequest(src, maildir, good, content_filter="Received -gt '3/4/2020'"),
         ContentFilterError, "ambiguous"),
        (MigrationRequest(SourceRequest("h", security="x"), maildir, good), InvalidSetting,
         "unknown security"),
    ]  # fmt: skip
    for request, error, words in cases:
        with pytest.raises(error, match=words):
            asyncio.run(migrate(request, env))
    assert not (tmp_path / "mail").exists() and not (tmp_path / "migrate").exists()
    secret = TargetRequest("imap://h", admin_user="admin")
    with_env = {**env, "MAILFERRY_TARGET_PASSWORD": "from-env"}
    from mailferry.app.targets import target_spec

    assert target_spec(secret, with_env).login is not None  # the secret from the environment
    assert 1 <= default_processes(10) <= max(1, (os.cpu_count() or 1) // 2)
