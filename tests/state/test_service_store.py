"""The service's repository on SQLite and PostgreSQL: endpoints, batches, users, claims
(caps and one job per mailbox hold between two workers with their own connections),
stale-claim recovery, the event log, and batch removal purging engine state."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mailferry.errors import StateConflict
from mailferry.state.migration_records import TargetSettings
from mailferry.state.service_store import ServiceStore
from mailferry.state.user_rows import Caps, ClaimRequest
from mailferry.values.statuses import BatchStatus, UserStatus

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
LEASE = NOW + dt.timedelta(seconds=60)


def endpoint_values(name: str = "Src") -> dict[str, Any]:
    return {
        "name": name, "remote_server": "127.0.0.1", "port": 993, "security": "Ssl",
        "authentication": "Basic", "max_concurrent_migrations": 3,
        "max_concurrent_incremental_syncs": 2, "accept_untrusted_certificates": False,
        "ca_file": None, "created_at": NOW,
    }  # fmt: skip


def batch_values(endpoint_id: int, name: str) -> dict[str, Any]:
    return {
        "name": name, "status": BatchStatus.SYNCING, "source_endpoint_id": endpoint_id,
        "target": TargetSettings(kind="maildir", maildir_root="/srv/mail"),
        "target_secret": None, "exclude_folders": ("Junk",), "include_folders": (),
        "auto_start": True, "start_after": None, "complete_after": None,
        "notification_emails": (), "created_at": NOW,
    }  # fmt: skip


def user_values(n: int, batch: str) -> dict[str, Any]:
    email = f"u{n}@{batch.lower()}.example"
    return {
        "row": n + 2, "email_address": email, "email_key": email, "user_name": f"u{n}",
        "user_root": None, "password_secret": b"ciphertext", "mailbox_key": f"key-{email}",
    }  # fmt: skip


@pytest.fixture
def service(db_url: str) -> Any:
    opened = ServiceStore.open(db_url)
    yield opened
    opened.close()


def initial(user_id: int) -> ClaimRequest:
    return ClaimRequest(user_id, UserStatus.QUEUED, UserStatus.VALIDATING, False, {})


def test_records_round_trip_and_names_are_unique_without_case(service: ServiceStore) -> None:
    endpoint = service.add_endpoint(endpoint_values("IMAPEndpoint"))
    assert service.endpoint("imapendpoint") == endpoint
    with pytest.raises(StateConflict):
        service.add_endpoint(endpoint_values("IMAPENDPOINT"))
    batch = service.add_batch(batch_values(endpoint.id, "B1"), [user_values(1, "B1")])
    assert batch.source_endpoint == "IMAPEndpoint" and batch.exclude_folders == ("Junk",)
    assert batch.target.maildir_root == "/srv/mail"
    (user,) = service.users(batch_id=batch.id)
    assert user.status == UserStatus.QUEUED and user.batch == "B1"
    assert service.active_addresses() == {"u1@b1.example": "B1"}
    assert service.update_batch(
        batch.id, {"status": BatchStatus.SYNCED}, expect=[BatchStatus.SYNCING]
    )
    assert not service.update_batch(
        batch.id, {"status": BatchStatus.STOPPED}, expect=[BatchStatus.SYNCING]
    )


def test_claims_hold_the_caps_between_two_workers(db_url: str, service: ServiceStore) -> None:
    endpoint = service.add_endpoint(endpoint_values())
    batches = [
        service.add_batch(batch_values(endpoint.id, name), [user_values(n, name) for n in range(9)])
        for name in ("B1", "B2")
    ]
    ids = [u.id for b in batches for u in service.users(batch_id=b.id)]
    caps = Caps(initial=3, incremental=2, total=3)
    workers = [ServiceStore.open(db_url) for _ in range(2)]
    try:
        requests = [initial(i) for i in ids]

        def take(n: int) -> list[int]:
            return workers[n].claim(endpoint.id, requests, caps, f"w{n}", NOW, LEASE)

        with ThreadPoolExecutor(2) as pool:
            taken = list(pool.map(take, range(2)))
    finally:
        for worker in workers:
            worker.close()
    claimed = taken[0] + taken[1]
    assert len(claimed) == 3 and len(set(claimed)) == 3
    assert service.live_claims(endpoint.id, NOW) == (3, 0)
    # Nothing more while those claims live; all free once their lease has expired.
    assert service.claim(endpoint.id, [initial(i) for i in ids], caps, "w3", NOW, LEASE) == []
    later = LEASE + dt.timedelta(seconds=1)
    stale = service.stale_claims(later, [], [UserStatus.VALIDATING])
    assert sorted(u.id for u in stale) == sorted(claimed)


def test_incremental_cap_is_separate_but_total_is_shared(service: ServiceStore) -> None:
    endpoint = service.add_endpoint(endpoint_values())
    batch = service.add_batch(
        batch_values(endpoint.id, "B"), [user_values(n, "B") for n in range(6)]
    )
    users = service.users(batch_id=batch.id)
    for user in users:
        service.update_user(user.id, {"status": UserStatus.SYNCED})
    requests = [
        ClaimRequest(u.id, UserStatus.SYNCED, UserStatus.INCREMENTAL_SYNCING, True, {})
        for u in users
    ]
    caps = Caps(initial=3, incremental=2, total=3)
    assert len(service.claim(endpoint.id, requests, caps, "w", NOW, LEASE)) == 2
    assert service.live_claims(endpoint.id, NOW) == (0, 2)


def test_removing_a_batch_purges_users_and_engine_state(service: ServiceStore) -> None:
    endpoint = service.add_endpoint(endpoint_values())
    batch = service.add_batch(batch_values(endpoint.id, "Gone"), [user_values(1, "Gone")])
    (user,) = service.users(batch_id=batch.id)
    mailbox_id = service.mailbox_id(user.mailbox_key)
    service.upsert_folder(mailbox_id, "INBOX", "INBOX")
    service.add_event("batch_created", NOW, batch_id=batch.id, users=1)
    service.delete_batch(batch.id)
    assert service.batch("Gone") is None and service.users() == []
    assert service.folders(mailbox_id) == []
    assert [e.kind for e in service.events(batch_id=batch.id)] == ["batch_created"]
    service.delete_endpoint(endpoint.id)
    assert service.endpoints() == []
