"""``mailferry user stop|start|remove`` and Stop-/Start-/Remove-MigrationUser: records,
refusals, removal then add-users again, the MX-switch refusal, waiting for a job that
runs elsewhere. (The syncing itself is tested in tests/service.)"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from mailferry.interfaces.cli.cmdlets import translate_cmdlet
from mailferry.service.batches import manage as batches
from mailferry.service.context import ServiceContext
from mailferry.service.statuses import UserStatus
from mailferry.service.vault import Vault
from mailferry.state.service_store import ServiceStore
from tests.interfaces.cli_service_support import (
    PASSWORDS,
    USERS,
    Mailferry,
    with_batch,
    write_csv,
)

ALICE, BOB = (row[0] for row in USERS)


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    made = with_batch(tmp_path)
    return made


def service(mf: Mailferry) -> ServiceContext:
    """The same database, for what the CLI can't do by itself (an MX switch, a claim)."""
    key = mf.env["MAILFERRY_KEY"]
    assert key is not None
    return ServiceContext(ServiceStore.open(mf.db_url), Vault(key.encode()))


def cmdlet(mf: Mailferry, *argv: str, code: int = 0) -> str:
    """Run a cmdlet-named command line (as ``main`` does: translated, then click)."""
    native = translate_cmdlet(list(argv), piped=False)
    assert native is not None
    result = mf.run(*native)
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr


def test_stop_start_and_their_refusals(mf: Mailferry) -> None:
    assert mf.fails("user", "stop", ALICE) == (
        f"error: can't Stop user {ALICE}: batch 'B1' has not been started (status Created); "
        "nothing runs yet (Remove-MigrationUser takes a user out)\n"
    )
    assert "start the batch (Start-MigrationBatch)" in mf.fails("user", "start", ALICE)
    mf.ok("batch", "start", "B1", "--no-wait")
    stopped = mf.json("user", "stop", ALICE)
    assert (stopped["Identity"], stopped["Status"], stopped["StatusSummary"]) == (
        ALICE, "Stopped", "Stopped",
    )  # fmt: skip
    assert mf.fails("user", "stop", ALICE) == (
        f"error: can't Stop user {ALICE}: it is already Stopped\n"
    )
    assert mf.json("batch", "get", "B1")["StoppedCount"] == 1
    started = mf.json("user", "start", ALICE, "--no-wait")
    assert started["Status"] == "Queued"
    assert mf.fails("user", "start", ALICE, "--no-wait") == (
        f"error: can't Start user {ALICE}: it is Queued: it already runs or is queued\n"
    )
    assert "was not found" in mf.fails("user", "stop", "nobody@contoso.example")
    stats = mf.json("user", "stats", ALICE, "--include-report")
    assert [line.split()[1].rstrip(":") for line in stats["Report"]] == [
        "user_stopped", "user_started",
    ]  # fmt: skip
    mf.assert_never_printed(*PASSWORDS)


def test_remove_then_add_the_address_again(mf: Mailferry, tmp_path: Path) -> None:
    result = mf.ok("user", "remove", BOB)
    assert result.stdout == f"Removed user {BOB} from batch B1\n"
    assert "was not found" in mf.fails("user", "get", BOB)
    assert [u["Identity"] for u in mf.json("user", "get", "--batch", "B1")] == [ALICE]
    fixed = write_csv(tmp_path / "bob.csv", [(BOB, "bob", "bob-right-pass-3")])
    mf.ok("batch", "add-users", "B1", "--csv", str(fixed))
    assert mf.json("user", "get", BOB)["Status"] == "Stopped"  # B1 was never started
    mf.assert_never_printed(*PASSWORDS, "bob-right-pass-3")


def test_remove_after_the_mx_switch_needs_force(mf: Mailferry) -> None:
    ctx = service(mf)
    switched = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    batches.record_mx_switch(ctx, "B1", switched)
    assert mf.fails("user", "remove", ALICE) == (
        f"error: user {ALICE} of batch 'B1' last synced before the MX switch "
        "(2026-03-01T12:00:00+00:00) (last sync: never); mail delivered to the old server "
        "since then would be lost. Run SyncNow first, or remove with --force\n"
    )
    assert mf.json("user", "get", ALICE)["Status"] == "Stopped"  # B1 was never started
    assert (
        mf.ok("user", "remove", ALICE, "--force").stdout == f"Removed user {ALICE} from batch B1\n"
    )
    ctx.store.close()


def test_stop_and_remove_wait_for_a_job_running_elsewhere(mf: Mailferry) -> None:
    ctx = service(mf)
    mf.ok("batch", "start", "B1", "--no-wait")
    for email, seconds in ((ALICE, 600), (BOB, 1)):
        (user,) = ctx.store.users(email_key=email)
        claim = {"claimed_by": "serve:elsewhere:1:1",
                 "claimed_until": ctx.now() + dt.timedelta(seconds=seconds)}  # fmt: skip
        ctx.store.update_user(user.id, {"status": UserStatus.SYNCING, **claim})
    assert mf.json("user", "stop", ALICE, "--no-wait")["Status"] == "Stopping"
    result = mf.ok("user", "remove", ALICE, "--no-wait", "--format", "json")
    assert json.loads(result.stdout)["Status"] == "Removing"
    assert f"note: user {ALICE} is Removing" in result.stderr
    (left,) = ctx.store.users(email_key=ALICE)
    assert left.password_secret == b""  # the password is gone before the job has ended
    # Bob's job "ends" (its claim expires) within a second: stop waits, then Stopped.
    waited = mf.ok("user", "stop", BOB, "--format", "json")
    assert f"waiting for the running sync of {BOB} to stop" in waited.stderr
    assert json.loads(waited.stdout)["Status"] == "Stopped"
    ctx.store.close()


def test_cmdlets_run(mf: Mailferry) -> None:
    """(Start-MigrationUser, like Start-MigrationBatch, runs the batch here when no
    service runs: its translation is tested above, not run against a fake server.)"""
    mf.ok("batch", "start", "B1", "--no-wait")
    stopped = cmdlet(mf, "Stop-MigrationUser", "-Identity", ALICE, "-Confirm:$false")
    assert stopped.splitlines()[2].split()[:3] == [ALICE, "B1", "Stopped"]
    refused = cmdlet(mf, "Stop-MigrationUser", ALICE, code=1)
    assert refused == f"error: can't Stop user {ALICE}: it is already Stopped\n"
    removed = cmdlet(mf, "Remove-MigrationUser", "-Identity", BOB, "-Confirm:$false", "-Force")
    assert removed == f"Removed user {BOB} from batch B1\n"
    assert "was not found" in cmdlet(mf, "Stop-MigrationUser", "-Identity", BOB, code=1)
