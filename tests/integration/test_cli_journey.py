"""The administrator's whole journey (SPEC §1), typed into bash against the rig's real
Dovecot servers: test the source, create the endpoint and the batch, run it under
``mailferry serve`` and watch it, stop it mid-copy and resume it, an incremental sync
24 hours later (a clock offset file, no waiting) and on demand, the MX cut-over, Remove,
and at the end no password anywhere: database, log, reports, any output."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailferry.rig import DovecotServer
from tests.conftest import MASTER_USER
from tests.dns_server import LoopbackDnsServer
from tests.integration.cli_shell import (
    Serve,
    Shell,
    admin_login,
    append,
    bodies,
    leaks,
    new_shell,
    rig_mailbox,
    wait_for,
)
from tests.integration.mailview import Login
from tests.integration.slow_proxy import SlowProxy

SMALL = 30
BIG = 1500
DAY_AND_AN_HOUR = 25 * 3600
SLOW_LINK = 40_000  # bytes/s per connection to the target until the stop
NEW_MX = "mx.newhome.example"
_domains = itertools.count(1)
Users = dict[str, dict[str, Any]]  # address -> Get-MigrationUser's record


def zone(domain: str, mx: str) -> str:
    soa = "@ SOA ns.test. hostmaster.test. 1 3600 600 86400 60"
    return f"$TTL 60\n{soa}\n@ NS ns.test.\n{domain}. MX 10 {mx}.\n"


def message(subject: str) -> bytes:
    return (
        f"From: sender@elsewhere.example\r\nTo: someone\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@journey>\r\n\r\n{subject} body\r\n"
    ).encode()


def when(text: str | None) -> dt.datetime:
    assert text is not None
    return dt.datetime.fromisoformat(text)


class Journey:
    """The test's view of the batch, read only through ``mailferry`` commands."""

    def __init__(self, sh: Shell, name: str) -> None:
        self.sh = sh
        self.name = name

    def batch(self) -> dict[str, Any]:
        found: dict[str, Any] = self.sh.json(f"mailferry batch get {self.name} --format json")
        return found

    def users(self) -> Users:
        found = self.sh.json(f"mailferry user get --batch {self.name} --format json")
        return {user["EmailAddress"]: user for user in found}

    def stats(self, address: str) -> dict[str, Any]:
        found: dict[str, Any] = self.sh.json(f"mailferry user stats {address} --format json")
        return found

    def settled(self, status: str, seconds: float = 90) -> dict[str, Any]:
        return wait_for(
            lambda: (b := self.batch())["Status"] == status and b,
            seconds=seconds, what=f"batch {self.name} {status}", interval=0.5,
        )  # fmt: skip

    def users_when(self, ok: Callable[[Users], bool], what: str, seconds: float = 90) -> Users:
        def probe() -> Users | None:
            users = self.users()
            return users if ok(users) else None

        return wait_for(probe, seconds=seconds, what=what, interval=0.5)


@pytest.fixture
def link(dovecot_target: DovecotServer) -> Iterator[SlowProxy]:
    """The way to the target: slow until the test lifts the limit (``rate = None``)."""
    with SlowProxy(dovecot_target.host, dovecot_target.imap_port, rate=SLOW_LINK) as proxy:
        yield proxy


def test_the_administrators_journey_from_the_cli(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, link: SlowProxy, tmp_path: Path
) -> None:
    domain = f"journey{os.getpid()}x{next(_domains)}.example"
    alice, bob, big = (
        rig_mailbox(dovecot_source, dovecot_target, f"{name}@{domain}", messages=n, seed=seed,
                    small=n == BIG)
        for name, n, seed in (("alice", SMALL, 901), ("bob", SMALL, 902), ("big", BIG, 903))
    )  # fmt: skip
    counts = {alice.name: SMALL, bob.name: SMALL, big.name: BIG}
    admin = f"*{MASTER_USER.name},{MASTER_USER.password}"
    csv = tmp_path / "users.csv"
    csv.write_text(
        "EmailAddress,UserName,Password\r\n"
        f"{alice.name},{alice.name}{admin}\r\n{bob.name},{bob.name},{bob.password}\r\n"
        f"{big.name},{big.name}{admin}\r\n"
    )
    ca = dovecot_source.ca_pem_path
    sh = new_shell(tmp_path, MAILFERRY_CA_FILE=str(ca))
    home = tmp_path / "home"
    journey = Journey(sh, "Journey")
    seen: list[tuple[str, int]] = []

    # 1. Test the source, as alice through the master user.
    report = sh.json(
        f"mailferry test-server --remote-server 127.0.0.1 --port {dovecot_source.imaps_port} "
        f"--security Ssl --ca-file {ca} --user '{alice.name}*admin' --password-stdin "
        "--format json", stdin=MASTER_USER.password + "\n",
    )  # fmt: skip
    assert report["Result"] == "Success", report
    assert [s["Step"] for s in report["Steps"]][-1] == "login" and report["Steps"][-1]["Ok"]

    # 2. The endpoint: verified on creation (without the CA the certificate is refused).
    endpoint = f"--remote-server 127.0.0.1 --port {dovecot_source.imaps_port} --security Ssl"
    refused = sh.run(f"mailferry endpoint new --name Untrusted {endpoint}", code=1)
    assert "certificate" in refused.stderr.lower(), refused.stderr
    created = sh.json(
        f"mailferry endpoint new --name OldServer {endpoint} --ca-file {ca} "
        "--max-concurrent-migrations 4 --format json"
    )
    assert (created["Port"], created["Security"]) == (dovecot_source.imaps_port, "Ssl")
    assert (created["MaxConcurrentMigrations"], created["MaxConcurrentIncrementalSyncs"]) == (4, 4)

    # 3. The batch: the target is the new Dovecot, reached as its master user.
    new = sh.json(
        "mailferry batch new --name Journey --source-endpoint OldServer --csv users.csv "
        f"--target imap://127.0.0.1:{link.port} --target-security Tls "
        "--target-login master-user --target-user admin --format json",
        env={"MAILFERRY_TARGET_PASSWORD": MASTER_USER.password},
    )
    assert (new["Status"], new["TotalCount"], new["SourceEndpoint"]) == ("Created", 3, "OldServer")

    clock = tmp_path / "clock-offset"
    clock.write_text("0")
    log = tmp_path / "serve.log"
    with Serve(sh, log, "--poll 0.2s", f"--clock-offset-file {clock}") as serve:
        serve.wait_ready(home / "mailferry.db")
        started = sh.run("mailferry batch start Journey --wait --format json")
        assert "a mailferry service runs on this database" in started.stderr

        # 4. Watch it move over the slow link; stop it while big copies; start it again.
        progress = wait_for(
            lambda: growing(journey.stats(big.name), seen), seconds=60,
            what="big's SyncedItemCount to grow", interval=0.2,
        )  # fmt: skip
        assert journey.batch()["Status"] == "Syncing"
        asked_at = time.monotonic()
        stopping = sh.json("mailferry batch stop Journey --format json")
        assert stopping["Status"] in ("Stopping", "Stopped")
        journey.settled("Stopped", seconds=20)
        assert time.monotonic() - asked_at < 20
        stopped = journey.stats(big.name)
        assert stopped["Status"] == "Stopped"
        assert progress <= stopped["SyncedItemCount"] < BIG, (seen, stopped)
        assert 0 < len(bodies(dovecot_target, admin_login(big.name, MASTER_USER))) < BIG
        link.rate = None  # the link is fast again
        assert sh.json("mailferry batch start Journey --format json")["Status"] == "Starting"
        assert journey.settled("Synced")["PercentageComplete"] == 100
        check_exact(journey, dovecot_source, dovecot_target, counts)

        # 5. New mail; 25 hours later the incremental sync carries it over.
        append(dovecot_source, Login(alice.name, alice.password), [message("after day one")])
        counts[alice.name] += 1
        clock.write_text(str(DAY_AND_AN_HOUR))
        tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)
        journey.users_when(
            lambda u: (
                all(when(x["LastSuccessfulSyncTimestamp"]) > tomorrow for x in u.values())
                and u[alice.name]["ItemsSynced"] == counts[alice.name]
            ),
            "the incremental sync 24 hours later",
        )
        clock.write_text("0")  # back to real time: later syncs are "before" the MX switch

        # 6. SyncNow for the batch, then for one user; nothing is duplicated.
        append(dovecot_source, Login(bob.name, bob.password), [message("bob sync now")])
        counts[bob.name] += 1
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        asked = sh.run("mailferry batch sync-now Journey --format json")
        assert "SyncNow requested for 3 user(s)" in asked.stderr
        synced = journey.users_when(
            lambda u: all(before <= when(x["LastSuccessfulSyncTimestamp"]) < tomorrow
                          for x in u.values()) and u[bob.name]["ItemsSynced"] == counts[bob.name],
            "the batch's SyncNow",
        )  # fmt: skip
        append(dovecot_source, Login(alice.name, alice.password), [message("alice sync now")])
        counts[alice.name] += 1
        sh.run(f"mailferry user sync-now {alice.name} --format json")
        after = journey.users_when(
            lambda u: u[alice.name]["ItemsSynced"] == counts[alice.name], "alice's SyncNow"
        )
        # Alice's new message shows her sync ran; the others' were not synced again. (Her
        # timestamp is no proof: it has whole seconds, and both syncs can share one.)
        last = "LastSuccessfulSyncTimestamp"
        others = [a for a in counts if a != alice.name]
        assert others and all(after[a][last] == synced[a][last] for a in others)
        journey.settled("Synced", seconds=30)
        check_exact(journey, dovecot_source, dovecot_target, counts)
        for fmt in ("csv", "json"):
            sh.run(f"mailferry batch report Journey --format {fmt} --output report.{fmt}")
        assert (tmp_path / "report.csv").read_text().count(f"@{domain}") >= 3

        # 7. The MX cut-over: not yet, then switched (recorded on the batch).
        mx = f"mailferry mx check {domain} --expect {NEW_MX} --nameserver"
        with LoopbackDnsServer(zone(domain, "mail.oldhome.example")) as dns:
            assert "does not point at the target" in sh.run(f"{mx} {dns.address}", code=1).stderr
        checked = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with LoopbackDnsServer(zone(domain, NEW_MX)) as dns:
            switched = sh.run(f"{mx} {dns.address}")
        assert "Recorded the MX switch on batch Journey" in switched.stderr
        switch_time = when(journey.batch()["MxSwitchedDateTime"])
        assert switch_time >= checked

        # 8. Remove: refused while the last sync is older than the switch; fine after one.
        refused = sh.run("mailferry batch remove Journey", code=1)
        assert "last synced before the MX switch" in refused.stderr, refused.stderr
        assert "--force" in refused.stderr
        sh.run("mailferry batch sync-now Journey --format json")
        journey.users_when(
            lambda u: all(when(x["LastSuccessfulSyncTimestamp"]) >= switch_time
                          for x in u.values()), "a sync after the MX switch",
        )  # fmt: skip
        removing = sh.run("mailferry batch remove Journey --format json")
        assert '"Removing"' in removing.stdout or "Removed batch Journey" in removing.stdout
        wait_for(lambda: gone(sh), seconds=30, what="the batch to be removed", interval=0.5)
        assert serve.stop() == 0, log.read_text()

    logged = log.read_text()
    assert "batch Journey: Synced" in logged and "batch Journey: Stopped" in logged
    secrets = [MASTER_USER.password, bob.password]
    assert len(leaks(secrets, [csv], [])) == 2  # the scan does see them where they are
    files = [*home.rglob("*"), log, tmp_path / "report.csv", tmp_path / "report.json"]
    assert any(p.name.startswith("mailferry.db") for p in files)
    assert leaks(secrets, [p for p in files if p.is_file()], sh.transcript) == []


def growing(stats: dict[str, Any], seen: list[tuple[str, int]]) -> int | None:
    """The count once two readings during the initial sync show it growing."""
    seen.append((stats["Status"], stats["SyncedItemCount"]))
    counts = [count for status, count in seen if status == "Syncing" and count > 0]
    return counts[-1] if len(counts) >= 2 and counts[0] < counts[-1] < BIG else None


def gone(sh: Shell) -> bool:
    """``batch get`` says "not found" (exit 1); until then it may only say Removing."""
    done = sh.run("mailferry batch get Journey --format json", code=None)
    if done.returncode == 1:
        assert "migration batch 'Journey' was not found" in done.stderr
        return True
    assert done.returncode == 0 and '"Removing"' in done.stdout, done.stdout + done.stderr
    return False


def check_exact(
    journey: Journey, source: DovecotServer, target: DovecotServer, counts: dict[str, int]
) -> None:
    """Every user Synced with exactly its source's messages on the target, once each."""
    users = journey.users()
    for address, expected in counts.items():
        assert (users[address]["Status"], users[address]["ItemsSynced"]) == ("Synced", expected)
        copied = bodies(target, admin_login(address, MASTER_USER))
        assert copied == bodies(source, admin_login(address, MASTER_USER))
        assert len(copied) == expected
    stats = journey.stats(next(iter(counts)))
    assert stats["TotalItemsInSourceMailboxCount"] == stats["SyncedItemCount"]
