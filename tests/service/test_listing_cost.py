"""Listings and reports cost a fixed number of queries (the same for 10 users as for
1,000: counted with an SQLAlchemy event listener), agree with the per-user code they
replaced, and stream: the report writers pull a row only when they write it."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update

from mailferry.interfaces.cli.cmdlets import translate_cmdlet
from mailferry.service.context import ServiceContext
from mailferry.service.properties import USER_STATISTICS_FIELDS, shown_status, status_filter
from mailferry.service.reports.batch_report import build_batch_report, write_batch_report
from mailferry.service.reports.formats import (
    batch_report,
    report_csv,
    report_json,
    write_report_csv,
    write_report_json,
)
from mailferry.service.vault import Vault
from mailferry.state.listing_queries import UserTally, percentage_column
from mailferry.state.migration_records import Batch, TargetSettings
from mailferry.state.schema import migration_users
from mailferry.state.service_store import ServiceStore
from mailferry.values.results import SkippedItem
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.interfaces.cli_service_support import Mailferry, endpoint, make_mailferry

U = UserStatus
T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
STATUS_CYCLE = [U.SYNCED, U.FAILED, U.SYNCING, U.QUEUED, U.STOPPED, U.INCREMENTAL_FAILED]


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Every statement any engine sends while the block runs."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))  # (conn, cursor, statement, parameters, context, many)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def add_batch(store: ServiceStore, name: str, users: int, **values: Any) -> Batch:
    row = {
        "name": name, "status": BatchStatus.CREATED, "source_endpoint_id": 1,
        "target": TargetSettings(kind="maildir", maildir_root="/srv/mail"), "target_secret": None,
        "exclude_folders": (), "include_folders": (), "auto_start": False, "start_after": None,
        "complete_after": None, "notification_emails": (), "created_at": T0, **values,
    }  # fmt: skip
    people = [_person(name.lower(), n) for n in range(users)]
    return store.add_batch(row, people)


def _person(prefix: str, n: int) -> dict[str, Any]:
    address = f"{prefix}{n}@contoso.example"
    return {
        "row": n + 2, "email_address": address, "email_key": address, "user_name": f"u{n}",
        "user_root": None, "password_secret": b"ciphertext", "mailbox_key": f"{prefix}/{n}",
    }  # fmt: skip


def vary_users(store: ServiceStore, batch: Batch) -> None:
    """Statuses and counters that exercise every counter, and skipped items for some."""
    c = migration_users.c
    with store.engine.begin() as connection:
        for k, status in enumerate(STATUS_CYCLE):
            connection.execute(
                update(migration_users)
                .where(c.batch_id == batch.id, c.row % len(STATUS_CYCLE) == k)
                .values(
                    status=status.value, total_items_in_source=100 + k,
                    synced_item_count=90 + 3 * k, skipped_item_count=k,
                    initial_sync_done=status != U.SYNCING, error=f"=why {k}" if k else None,
                )
            )  # fmt: skip
    for user in store.users(batch_id=batch.id)[::7]:
        items = [
            SkippedItem("INBOX", 40 + i, "LargeItem", f"=big {i}", "bob@x", T0, 9 << 20, "large")
            for i in range(user.row % 3 + 1)
        ]
        items.append(SkippedItem("Calendar", None, "FolderSkipped", "", "", None, None, "NonMail"))
        store.record_skipped(store.mailbox_id(user.mailbox_key), items)


def populated(tmp_path: Path, users: int) -> Mailferry:
    mf = make_mailferry(tmp_path)
    endpoint(mf)
    store = ServiceStore.open(mf.env["MAILFERRY_DB"] or "")
    try:
        big = add_batch(store, "Big", users, status=BatchStatus.SYNCING, started_at=T0)
        vary_users(store, big)
        add_batch(store, "Idle", users)  # never started: its users show Stopped
    finally:
        store.close()
    return mf


COMMANDS: list[tuple[str, ...]] = [
    ("batch", "get"),
    ("batch", "get", "Big", "--format", "json"),
    ("batch", "get", "--status", "Syncing", "--format", "json"),
    ("user", "get", "--batch", "Big", "--format", "jsonl"),
    ("user", "get", "--format", "jsonl"),
    ("user", "get", "--batch", "Idle", "--status", "Stopped", "--format", "jsonl"),
    ("user", "get", "--status", "Failed", "--format", "jsonl"),
    ("user", "stats", "big7@contoso.example", "--include-skipped-items", "--include-report"),
    ("batch", "report", "Big", "--format", "csv"),
    ("batch", "report", "Big", "--format", "json"),
    ("Get-MigrationBatch",),
    ("Get-MigrationUser", "-BatchId", "Big", "-Status", "Synced"),
]


def run(mf: Mailferry, argv: tuple[str, ...]) -> tuple[int, str]:
    native = translate_cmdlet(list(argv), piped=True) or list(argv)
    with counted_queries() as seen:
        result = mf.run(*native)
    assert result.exit_code == 0, result.output
    return len(seen), result.stdout


def test_listings_and_reports_cost_the_same_queries_for_10_and_1000_users(
    tmp_path: Path,
) -> None:
    small = populated(tmp_path / "small", 10)
    large = populated(tmp_path / "large", 1000)
    for argv in COMMANDS:
        (few, _), (many, _) = run(small, argv), run(large, argv)
        assert few == many, f"{argv}: {few} queries for 10 users, {many} for 1,000"
        # a fixed cost per command: opening reads Set-MigrationConfig's row too (one more)
        assert few <= 14, f"{argv}: {few} queries"
    listed = large.ok("user", "get", "--batch", "Big", "--format", "jsonl").stdout
    assert len(listed.splitlines()) == 1000
    stopped = run(
        large, ("user", "get", "--batch", "Idle", "--status", "Stopped", "--format", "jsonl")
    )
    assert len(stopped[1].splitlines()) == 1000
    failed = json.loads(large.ok("user", "get", "--status", "Failed", "--format", "json").stdout)
    rows = [r for r in range(2, 1002) if STATUS_CYCLE[r % len(STATUS_CYCLE)] == U.FAILED]
    assert len(failed) == len(rows) and {u["Status"] for u in failed} == {"Failed"}


def _context(tmp_path: Path) -> ServiceContext:
    store = ServiceStore.open(f"sqlite:///{tmp_path / 'listing.db'}")
    assert isinstance(store, ServiceStore)
    return ServiceContext(store, Vault(Vault.generate_key()), clock=lambda: T0 + dt.timedelta(1))


def _old_report(ctx: ServiceContext, batch: Batch) -> dict[str, Any]:
    """The report as it was built before: the users loaded, then 2 queries per user."""
    users = ctx.store.users(batch_id=batch.id)
    skipped = {u.id: ctx.store.skipped(ctx.store.mailbox_id(u.mailbox_key)) for u in users}
    return batch_report(batch, users, skipped, ctx.now())


@pytest.mark.parametrize("status", [BatchStatus.SYNCING, BatchStatus.CREATED])
def test_streamed_reports_are_the_text_built_in_memory(tmp_path: Path, status: BatchStatus) -> None:
    ctx = _context(tmp_path)
    store = ctx.store
    store.add_endpoint(_endpoint_values())
    started = T0 if status != BatchStatus.CREATED else None
    batch = add_batch(store, "Wave", 60, status=status, started_at=started)
    vary_users(store, batch)
    add_batch(store, "Other", 5)
    expected = _old_report(ctx, batch)
    for fmt, text in (("csv", report_csv(expected)), ("json", report_json(expected))):
        out = io.StringIO()
        with counted_queries() as seen:
            write_batch_report(ctx, batch, fmt, out)
        assert out.getvalue() == text
        assert len(seen) <= 5
    assert json.loads(report_json(expected)) == expected
    assert build_batch_report(ctx, batch) == expected
    shown = {u["Status"] for u in expected["Users"]}
    assert ("Queued" in shown) == (status != BatchStatus.CREATED)
    assert ("Stopped" in shown) and expected["Batch"]["TotalCount"] == 60
    store.close()


def _endpoint_values() -> dict[str, Any]:
    return {
        "name": "E1", "remote_server": "imap.contoso.example", "port": 993, "security": "Ssl",
        "authentication": "Basic", "max_concurrent_migrations": 20,
        "max_concurrent_incremental_syncs": 10, "accept_untrusted_certificates": False,
        "ca_file": None, "created_at": T0,
    }  # fmt: skip


def _rows(out: io.StringIO, n: int) -> Iterator[dict[str, Any]]:
    """``n`` statistics rows; each is pulled only once the previous one is written."""
    for i in range(n):
        assert i == 0 or f"u{i - 1}@x" in out.getvalue(), f"row {i} read ahead of the output"
        row: dict[str, Any] = dict.fromkeys(USER_STATISTICS_FIELDS, 0)
        yield row | {"EmailAddress": f"u{i}@x", "SkippedItems": [], "Status": "Synced"}


def test_report_writers_pull_a_row_only_to_write_it() -> None:
    out = io.StringIO()
    write_report_csv(out, _rows(out, 50), [])
    assert out.getvalue().count("@x,") == 50
    out = io.StringIO()
    write_report_json(out, {"Name": "B"}, _rows(out, 50))
    assert len(json.loads(out.getvalue())["Users"]) == 50


def _percentages(ctx: ServiceContext, batch: Batch) -> dict[int, int]:
    c = migration_users.c
    query = select(c.id, percentage_column()).where(c.batch_id == batch.id)
    with ctx.store.engine.connect() as connection:
        return {int(i): int(p) for i, p in connection.execute(query)}


def test_sql_percentage_and_tally_are_the_loaded_users_ones(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    ctx.store.add_endpoint(_endpoint_values())
    counts = [(0, 0, 0), (100, 100, 0), (100, 98, 2), (100, 98, 1), (3, 1, 0), (7, 9, 0)]
    counts += [(1_000_000, 999_999, 0), (200, 99, 1), (100, 97, 1), (0, 5, 5), (9, 0, 0)]
    cases = list(itertools.product(U, (True, False), counts))
    batch = add_batch(ctx.store, "T", len(cases), status=BatchStatus.SYNCING, started_at=T0)
    c = migration_users.c
    with ctx.store.engine.begin() as connection:
        for n, (status, done, (total, synced, skipped)) in enumerate(cases):
            connection.execute(
                update(migration_users).where(c.batch_id == batch.id, c.row == n + 2).values(
                    status=status.value, initial_sync_done=done, total_items_in_source=total,
                    synced_item_count=synced, skipped_item_count=skipped,
                )
            )  # fmt: skip
    users = ctx.store.users(batch_id=batch.id)
    assert _percentages(ctx, batch) == {u.id: u.percentage_complete for u in users}
    assert {u.percentage_complete for u in users} >= {0, 33, 50, 98, 99, 100}
    assert ctx.store.user_tallies([batch.id])[batch.id] == UserTally.of(users)
    assert ctx.store.user_tallies([batch.id + 1]) == {}
    ctx.store.close()


def test_status_filter_selects_exactly_what_shows() -> None:
    for shown in U:
        wanted = status_filter(shown)
        for stored in U:
            for started in (True, False):
                matches = any(
                    stored == s and (need is None or need == started) for s, need in wanted
                )
                assert matches == (shown_status(stored, started) == shown), (shown, stored)
