"""``mailferry batch ...``: records, actions, targets, errors, and a run in the foreground."""

from __future__ import annotations

import io
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from mailferry.app import Mailferry as App
from mailferry.interfaces.cli.batch_watch import PlainLines, Snapshot, render
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from mailferry.service.context import ServiceContext
from mailferry.service.jobs.scheduler import service_running
from mailferry.service.vault import Vault
from mailferry.state.service_store import ServiceStore
from tests.interfaces.cli_service_support import (
    PASSWORDS,
    USERS,
    Mailferry,
    endpoint,
    make_mailferry,
    new_batch,
    write_csv,
)


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    made = make_mailferry(tmp_path)
    endpoint(made)
    return made


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "users.csv", USERS)


def test_new_prints_the_created_batch(mf: Mailferry, csv: Path, tmp_path: Path) -> None:
    created = new_batch(
        mf, csv, "IMAPBatch1",
        "--exclude-folders", "Deleted Items,Junk Email", "--exclude-folders", "#Archive#",
        "--notification-emails", "admin@contoso.example",
        "--start-after", "2030-01-02T03:04", "--complete-after", "2030-02-01T10:00+01:00",
    )  # fmt: skip
    assert created["Identity"] == "IMAPBatch1" and created["Status"] == "Created"
    assert (created["TotalCount"], created["SourceEndpoint"]) == (2, "E1")
    assert created["ExcludedFolders"] == ["Deleted Items", "Junk Email", "#Archive#"]
    assert created["NotificationEmails"] == ["admin@contoso.example"]
    assert created["StartAfter"] == "2030-01-02T03:04:00Z"  # no zone: UTC
    assert created["CompleteAfter"] == "2030-02-01T09:00:00Z"
    assert created["Target"] == f"maildir:{(mf.home / 'mail').resolve()}"  # the default target
    mf.assert_never_printed(*PASSWORDS)


def test_get_formats_and_filters(mf: Mailferry, csv: Path, tmp_path: Path) -> None:
    new_batch(mf, csv, "B1")
    endpoint(mf, "E2")
    other = write_csv(tmp_path / "other.csv", [("carol@contoso.example", "carol", "c-pw-1")])
    mf.ok("batch", "new", "--name", "B2", "--source-endpoint", "E2", "--csv", str(other))
    mf.ok("batch", "start", "B2", "--no-wait")
    table = mf.ok("batch", "get").stdout.splitlines()
    assert table[0].split() == ["Identity", "Status", "MigrationType", "TotalCount",
                                "PercentageComplete"]  # fmt: skip
    assert [line.split()[:2] for line in table[2:]] == [["B1", "Created"], ["B2", "Starting"]]
    listed = mf.ok("batch", "get", "B1", "--format", "list", "--property", "Status").stdout
    assert listed == "Status : Created\n"
    assert [b["Name"] for b in mf.json("batch", "get", "--status", "starting")] == ["B2"]
    assert [b["Name"] for b in mf.json("batch", "get", "--endpoint", "E1")] == ["B1"]
    counts = mf.json("batch", "get", "B1", "--property", "*Count")
    # a never-started batch's users show Stopped (not Queued: nothing waits for a slot)
    assert counts == {"TotalCount": 2, "ActiveCount": 0, "StoppedCount": 2, "SyncedCount": 0,
                      "FinalizedCount": 0, "FailedCount": 0}  # fmt: skip
    assert mf.json("batch", "get", "B2", "--property", "ActiveCount") == {"ActiveCount": 1}
    assert mf.fails("batch", "get", "nope") == "error: migration batch 'nope' was not found\n"
    assert "was not found" in mf.fails("batch", "get", "--endpoint", "E9")
    assert "'Bogus' is not one of" in mf.fails("batch", "get", "--status", "Bogus", code=2)


def test_new_refuses_bad_input(mf: Mailferry, csv: Path, tmp_path: Path) -> None:
    new_batch(mf, csv, "B1")
    base = ["batch", "new", "--source-endpoint", "E1", "--csv", str(csv)]
    assert mf.fails(*base, "--name", "b1") == "error: the migration batch 'b1' already exists\n"
    assert "Name is 65 characters long; the limit is 64" in mf.fails(
        *base, "--name", "x" * 65, code=2
    )
    unknown = ["batch", "new", "--name", "B3", "--source-endpoint", "E9", "--csv", str(csv)]
    assert mf.fails(*unknown) == "error: migration endpoint 'E9' was not found\n"
    taken = mf.fails(*base, "--name", "B2", code=2)  # the same addresses are in B1 already
    assert "alice@contoso.example" in taken and "B1" in taken
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "EmailAddress,UserName,Password\nnot-an-address,u1,pw-secret-1\n"
        "dave@contoso.example,,pw-secret-2\ndave@contoso.example,d2,pw-secret-3\n"
    )
    error = mf.fails("batch", "new", "--name", "B4", "--source-endpoint", "E1", "--csv", str(bad),
                     code=2)  # fmt: skip
    assert error.startswith(f"error: {bad} was not imported: 3 problems.")
    assert "row 2" in error.lower() and "row 3" in error.lower() and "row 4" in error.lower()
    when = mf.fails(*base, "--name", "B5", "--start-after", "next tuesday", code=2)
    assert "is not a time such as 2026-12-15T18:00" in when
    mf.assert_never_printed(*PASSWORDS, "pw-secret-1", "pw-secret-2", "pw-secret-3")
    assert [b["Name"] for b in mf.json("batch", "get")] == ["B1"]


def test_actions_and_not_allowed_actions(mf: Mailferry, csv: Path) -> None:
    new_batch(mf, csv)
    assert "can't Complete batch 'B1': it has not been started (status Created)" in mf.fails(
        "batch", "complete", "B1", "--no-wait"
    )
    assert "can't SyncNow batch 'B1'" in mf.fails("batch", "sync-now", "B1", "--no-wait")
    assert mf.json("batch", "start", "B1", "--no-wait")["Status"] == "Starting"
    assert "can't Start batch 'B1': it is starting" in mf.fails("batch", "start", "B1")
    stopping = mf.ok("batch", "stop", "B1", "--no-wait", "--format", "list", "--property",
                     "Status,StartDateTime").stdout  # fmt: skip
    assert stopping.splitlines()[0] == "Status        : Stopping"
    assert stopping.splitlines()[1].startswith("StartDateTime : 20")
    assert mf.json("batch", "remove", "B1", "--no-wait")["Status"] == "Removing"
    assert "it is being removed" in mf.fails("batch", "remove", "B1", "--no-wait")
    assert "was not found" in mf.fails("batch", "start", "B9")


def test_a_running_service_does_the_work(mf: Mailferry, csv: Path) -> None:
    new_batch(mf, csv)
    store = ServiceStore.open(mf.db_url)
    assert isinstance(store, ServiceStore)
    try:
        ctx = ServiceContext(store, Vault(Vault.generate_key()))
        store.heartbeat(f"serve:{socket.gethostname()}:{os.getpid()}:1", socket.gethostname(),
                        os.getpid(), ctx.now())  # fmt: skip
        assert service_running(ctx)
        result = mf.ok("batch", "start", "B1", "--wait", "--format", "json")
        assert json.loads(result.stdout)["Status"] == "Starting"  # recorded, not run here
        assert "a mailferry service runs on this database" in result.stderr
    finally:
        store.close()


def test_future_start_after_is_not_waited_for(mf: Mailferry, csv: Path) -> None:
    result = mf.ok("batch", "new", "--name", "Later", "--source-endpoint", "E1", "--csv", str(csv),
                   "--auto-start", "--start-after", "2099-01-01", "--format", "json")  # fmt: skip
    assert json.loads(result.stdout)["Status"] == "Starting"
    assert "starts after 2099-01-01T00:00:00+00:00" in result.stderr


def test_add_users_and_set(mf: Mailferry, csv: Path, tmp_path: Path) -> None:
    new_batch(mf, csv)
    more = write_csv(tmp_path / "more.csv", [("erin@contoso.example", "erin", "erin-pw-5")])
    result = mf.ok("batch", "add-users", "B1", "--csv", str(more), "--format", "json")
    assert json.loads(result.stdout)["TotalCount"] == 3
    assert result.stderr == "Added 1 user(s) to batch B1\n"
    assert "erin@contoso.example" in mf.fails(
        "batch", "add-users", "B1", "--csv", str(more), code=2
    )
    changed = mf.json("batch", "set", "B1", "--complete-after", "2031-05-06T07:08:09Z",
                      "--notification-emails", "a@contoso.example,b@contoso.example",
                      "--include-folders", "Inbox")  # fmt: skip
    assert changed["CompleteAfter"] == "2031-05-06T07:08:09Z"
    assert changed["NotificationEmails"] == ["a@contoso.example", "b@contoso.example"]
    assert changed["IncludedFolders"] == ["Inbox"]
    assert changed["ExcludedFolders"] == []  # not given: unchanged
    mf.assert_never_printed(*PASSWORDS, "erin-pw-5")


def test_targets(mf: Mailferry, csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    def base(name: str) -> list[str]:
        users = write_csv(tmp_path / f"{name}.csv", [(f"{name}@contoso.example", name, "u-pw-8")])
        return ["batch", "new", "--name", name, "--source-endpoint", "E1", "--csv", str(users)]

    maildir = mf.json(*base("m"), "--target", "maildir:out")
    assert maildir["Target"] == f"maildir:{tmp_path / 'out'}"
    imap = [*base("i"), "--target", "imap://127.0.0.1:1143"]
    assert "needs the admin user (--target-user)" in mf.fails(*imap, code=2)
    assert "needs its password or token" in mf.fails(*imap, "--target-user", "a", code=2)
    secret = tmp_path / "target.pw"
    secret.write_text("target-admin-pw-42\n")
    made = mf.json(*imap, "--target-user", "admin", "--target-password-file", str(secret))
    assert made["Target"] == "imap://127.0.0.1:1143"
    per_user = write_csv(tmp_path / "t.csv", [("p@contoso.example", "a", "per-user-pw-3")])
    mf.ok(*base("p"), "--target", "imaps://mail.contoso.example", "--target-login",
          "per-user", "--target-csv", str(per_user))  # fmt: skip
    assert mf.json("batch", "get", "p")["Target"] == "imaps://mail.contoso.example:993"
    mf.ok(*base("t"), "--target", "imap://mail.contoso.example", "--target-security", "Tls",
          "--target-login", "per-user", "--target-csv", str(per_user))  # fmt: skip
    assert mf.json("batch", "get", "t")["Target"] == "imap://mail.contoso.example:143 (STARTTLS)"
    assert "give --target too" in mf.fails(*base("x"), "--target-user", "a", code=2)
    assert "neither maildir:PATH" in mf.fails(*base("x"), "--target", "ftp://x", code=2)
    mf.assert_never_printed("u-pw-8", "target-admin-pw-42", "per-user-pw-3")
    stored = (tmp_path / "state.db").read_bytes()
    assert b"target-admin-pw-42" not in stored and b"per-user-pw-3" not in stored
    assert b"u-pw-8" not in stored


def test_default_target_from_the_environment(mf: Mailferry, csv: Path) -> None:
    env: dict[str, str | None] = {
        "MAILFERRY_TARGET": "imap://127.0.0.1:2143",
        "MAILFERRY_TARGET_USER": "master",
        "MAILFERRY_TARGET_PASSWORD": "env-target-pw-7",
    }
    made = mf.ok("batch", "new", "--name", "D", "--source-endpoint", "E1", "--csv", str(csv),
                 "--format", "json", env=env)  # fmt: skip
    assert json.loads(made.stdout)["Target"] == "imap://127.0.0.1:2143"
    broken = mf.run("batch", "get", env={"MAILFERRY_TARGET": "nowhere"})
    assert broken.exit_code == 2  # a bad setting is bad input (README: Exit codes)
    assert "MAILFERRY_TARGET 'nowhere' is neither maildir:PATH" in broken.stderr
    mf.assert_never_printed("env-target-pw-7", *PASSWORDS)


def test_report_csv_and_json(mf: Mailferry, csv: Path, tmp_path: Path) -> None:
    new_batch(mf, csv)
    text = mf.ok("batch", "report", "B1").stdout
    header = text.splitlines()[0].split(",")
    assert header[:4] == ["Identity", "EmailAddress", "BatchId", "Status"]
    assert "alice@contoso.example" in text and "bob@contoso.example" in text
    target = tmp_path / "report.json"
    result = mf.ok("batch", "report", "B1", "--format", "json", "--output", str(target))
    assert result.stderr == f"Report written to {target}\n"
    report = json.loads(target.read_text())
    assert report["Batch"]["Name"] == "B1"
    assert [u["EmailAddress"] for u in report["Users"]] == [u[0] for u in USERS]
    assert not any(p in target.read_text() for p in PASSWORDS)
    assert "was not found" in mf.fails("batch", "report", "nope")
    mf.assert_never_printed(*PASSWORDS)


# -- carried out in the foreground, against a real Dovecot ---------------------------------


def _filled(server: DovecotServer, make_user: Callable[..., RigAccount], seed: int) -> RigAccount:
    account = make_user("batchcli", servers=(server,))
    server.write_maildir(account.name, generate(CorpusSpec(seed=seed, messages=12)))
    return account


def test_auto_start_runs_here_until_synced_then_complete_and_remove(
    tmp_path: Path, dovecot_source: DovecotServer, make_user: Callable[..., RigAccount]
) -> None:
    mf = make_mailferry(tmp_path)
    mf.ok("endpoint", "new", "--name", "Dovecot", "--remote-server", "127.0.0.1", "--port",
          str(dovecot_source.imap_port), "--security", "Tls", "--ca-file",
          str(dovecot_source.ca_pem_path))  # fmt: skip
    first, second = _filled(dovecot_source, make_user, 31), _filled(dovecot_source, make_user, 32)
    rows = [(f"{a.name}@contoso.example", a.name, a.password) for a in (first, second)]
    csv = write_csv(tmp_path / "real.csv", rows)
    target = tmp_path / "maildir"
    result = mf.ok("batch", "new", "--name", "Real", "--source-endpoint", "Dovecot", "--csv",
                   str(csv), "--target", f"maildir:{target}", "--auto-start",
                   "--format", "json")  # fmt: skip
    synced = json.loads(result.stdout)
    assert synced["Status"] == "Synced", result.output
    assert synced["SyncedCount"] == 2 and synced["PercentageComplete"] == 100
    assert "batch Real: Synced" in result.stderr  # plain progress lines: stdout is no TTY
    assert f"{rows[0][0]}: Synced (12/12 items)" in result.stderr
    assert len(list((target / rows[0][0] / "cur").iterdir())) > 0
    stats = mf.json("user", "stats", rows[0][0])
    assert stats["SyncedItemCount"] == 12 and stats["Status"] == "Synced"
    again = mf.ok("user", "sync-now", rows[1][0], "--format", "json")
    assert json.loads(again.stdout)["Status"] == "Synced", again.output
    assert f"{rows[1][0]}: IncrementalSyncing (12/12 items)" in again.stderr
    assert mf.json("batch", "sync-now", "Real")["Status"] == "Synced"
    completed = mf.ok("batch", "complete", "Real", "--format", "json")
    assert json.loads(completed.stdout)["Status"] == "Completed", completed.output
    removed = mf.ok("batch", "remove", "Real")
    assert removed.stdout == "Removed batch Real\n"
    assert "was not found" in mf.fails("batch", "get", "Real")
    mf.assert_never_printed(first.password, second.password)


def test_a_run_here_that_leaves_failed_users_exits_1_after_the_record(
    tmp_path: Path, dovecot_source: DovecotServer, make_user: Callable[..., RigAccount]
) -> None:
    """README, Exit codes: the batch ran here and a user failed (a wrong password)."""
    mf = make_mailferry(tmp_path)
    mf.ok("endpoint", "new", "--name", "Dovecot", "--remote-server", "127.0.0.1", "--port",
          str(dovecot_source.imap_port), "--security", "Tls", "--ca-file",
          str(dovecot_source.ca_pem_path))  # fmt: skip
    good = _filled(dovecot_source, make_user, 41)
    rows = [(f"{good.name}@contoso.example", good.name, good.password),
            (f"{good.name}-2@contoso.example", good.name, "wrong-password-3")]  # fmt: skip
    csv = write_csv(tmp_path / "half.csv", rows)
    result = mf.run("batch", "new", "--name", "Half", "--source-endpoint", "Dovecot", "--csv",
                    str(csv), "--target", f"maildir:{tmp_path / 'maildir'}", "--auto-start",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    record = json.loads(result.stdout)
    assert record["Status"] == "SyncedWithErrors" and record["FailedCount"] == 1
    assert record["SyncedCount"] == 1
    again = mf.run("batch", "start", "Half", "--format", "json")  # retries the failed user
    assert again.exit_code == 1 and json.loads(again.stdout)["FailedCount"] == 1
    assert mf.run("batch", "get", "Half").exit_code == 0  # only a run here judges the end
    mf.assert_never_printed("wrong-password-3", good.password)


def test_progress_views_render_the_batch_and_its_users(mf: Mailferry, csv: Path) -> None:
    created = new_batch(mf, csv)
    env = {k: v for k, v in mf.env.items() if v is not None}
    with App.open(mf.db_url, env) as app:
        snapshot = Snapshot.read(app, {created["Name"]})
        console = Console(record=True, width=100)
        console.print(render(snapshot, max_rows=1))
        text = console.export_text()
        assert "B1: Created  0/2 synced, 0 active, 0 failed, 0%" in text
        assert "alice@contoso.example" in text and "bob@contoso.example" not in text
        assert "… and 1 more users" in text
        lines = PlainLines(app, {created["Name"]}, io.StringIO())
        assert lines.changes(snapshot) == [  # as shown: a never-started batch's are Stopped
            "batch B1: Created",
            "  alice@contoso.example: Stopped (0/0 items)",
            "  bob@contoso.example: Stopped (0/0 items)",
        ]
        assert lines.changes(snapshot) == []  # only changes are printed


def test_content_filter_is_checked_shown_and_removable(mf: Mailferry, csv: Path) -> None:
    ambiguous = ["batch", "new", "--name", "F", "--source-endpoint", "E1", "--csv", str(csv),
                 "--content-filter", "Received -gt '3/4/2020'"]  # fmt: skip
    refused = mf.fails(*ambiguous, code=2)
    assert "ContentFilter: '3/4/2020' at character 14 is ambiguous" in refused
    assert "'2020-03-04'" in refused and "'2020-04-03'" in refused
    made = new_batch(mf, csv, "F", "--content-filter", "Received -gt '2020-08-23'")
    assert made["ContentFilter"] == "Received -gt '2020-08-23'"
    assert mf.json("batch", "set", "F", "--content-filter", "")["ContentFilter"] is None
