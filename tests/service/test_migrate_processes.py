"""``run_migration`` with worker processes, against the rig's real Dovecot.

The same users migrated with ``processes=2`` and ``processes=1`` give the same Maildir
bytes and counts; progress reaches the parent's callbacks; a killed worker fails only
its user and the next run completes it on the IMAP target without duplicates; several
processes write one SQLite state database (a writer waits for another process's lock).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from mailferry.connection.options import ConnectOptions
from mailferry.errors import WorkerSetupError
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from mailferry.service.migration_spec import SourceSpec, TargetSpec
from mailferry.service.oneshot.migrate import MigrationRequest, UserOutcome, run_migration
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.state.database import WRITE_OPTION
from mailferry.state.store import StateStore
from mailferry.stores.logins import PerUser
from mailferry.values.connection import Security
from mailferry.values.progress import MailboxStarted, MessagesCopied, ProgressEvent
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view

MakeUser = Callable[..., RigAccount]
Contents = dict[str, Counter[tuple[str, str, str]]]


def filled(server: DovecotServer, make_user: MakeUser, seed: int, messages: int) -> RigAccount:
    account = make_user("proc", servers=(server,))
    server.write_maildir(account.name, generate(CorpusSpec(seed=seed, messages=messages)))
    return account


def request_for(
    server: DovecotServer, accounts: list[RigAccount], tmp_path: Path, name: str,
    processes: int, max_concurrent: int = 4,
) -> MigrationRequest:  # fmt: skip
    rows = tuple(
        MigrationUserRow(n + 2, f"{a.name}@example.test", a.name, a.password)
        for n, a in enumerate(accounts)
    )
    options = ConnectOptions(
        server.host, server.imap_port, security=Security.TLS, ca_file=server.ca_pem_path
    )
    return MigrationRequest(
        source=SourceSpec(options),
        target=TargetSpec(maildir_root=tmp_path / name),
        users=rows,
        state_url=f"sqlite:///{tmp_path / name}.db",
        processes=processes,
        max_concurrent=max_concurrent,
    )


def maildir_contents(root: Path) -> Contents:
    """Per address: (folder directory, sha256 of the file, maildir flags) of each message."""
    found: Contents = {}
    for path in root.rglob("*"):
        if path.is_file() and path.parent.name in ("cur", "new"):
            address = path.relative_to(root).parts[0]
            folder = str(path.parent.parent.relative_to(root / address))
            flags = path.name.partition(":2,")[2]
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found.setdefault(address, Counter())[(folder, digest, flags)] += 1
    return found


def run(request: MigrationRequest, **callbacks: object) -> list[UserOutcome]:
    return asyncio.run(run_migration(request, **callbacks))  # type: ignore[arg-type]


def test_two_processes_migrate_exactly_what_one_does(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    accounts = [filled(dovecot_source, make_user, seed, 60) for seed in (41, 42, 43)]
    events: list[tuple[str, ProgressEvent, int]] = []
    done: list[str] = []

    def on_event(row: MigrationUserRow, event: ProgressEvent) -> None:
        events.append((row.email_address, event, len(multiprocessing.active_children())))

    request = request_for(dovecot_source, accounts, tmp_path, "two", processes=2)
    outcomes = run(
        request, on_event=on_event, on_user_done=lambda o: done.append(o.row.email_address)
    )
    alone = run(request_for(dovecot_source, accounts, tmp_path, "one", processes=1))

    assert [o.row for o in outcomes] == list(request.users)  # CSV order, the parent's rows
    assert sorted(done) == sorted(r.email_address for r in request.users)
    assert not any(o.failed for o in outcomes + alone), [o.error for o in outcomes + alone]
    for spread, single in zip(outcomes, alone, strict=True):
        assert spread.result is not None and single.result is not None
        assert spread.result.copied == single.result.copied > 50
        assert spread.result.items == single.result.items == 60
        copied = sum(e.count for a, e, _ in events if a == spread.row.email_address
                     and isinstance(e, MessagesCopied))  # fmt: skip
        assert copied == spread.result.copied
    assert {a for a, e, _ in events if isinstance(e, MailboxStarted)} == set(done)
    assert all(children == 2 for _, _, children in events)  # the users ran in 2 workers
    two, one = maildir_contents(tmp_path / "two"), maildir_contents(tmp_path / "one")
    assert len(two) == 3 and two == one


def test_a_killed_worker_fails_its_user_alone_and_the_rerun_completes_it(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    accounts = [make_user("victim"), make_user("other"), make_user("other")]  # both servers
    for account, (seed, messages) in zip(accounts, [(51, 400), (52, 40), (53, 40)], strict=True):
        dovecot_source.write_maildir(account.name, generate(CorpusSpec(seed, messages)))
    request = request_for(dovecot_source, accounts, tmp_path, "kill", processes=2)
    logins = {
        row.email_address: (a.name, a.password)
        for row, a in zip(request.users, accounts, strict=True)
    }
    # An IMAP target (a Maildir's dot-locks outlive a kill -9 for 30 s); two users at a
    # time: the third waits, then goes to the killed worker's replacement.
    request = dataclasses.replace(request, max_concurrent=2, target=TargetSpec(
        imap=ConnectOptions(dovecot_target.host, dovecot_target.imap_port, security=Security.NONE),
        login=PerUser(logins),
    ))  # fmt: skip
    address = request.users[0].email_address
    killed: list[int] = []

    def on_event(row: MigrationUserRow, event: ProgressEvent) -> None:
        # The first user goes to the first worker (the least busy, ties in start order).
        if row.email_address == address and isinstance(event, MessagesCopied) and not killed:
            worker = next(p for p in multiprocessing.active_children()
                          if p.name == "mailferry-migrate-1")  # fmt: skip
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

    first = run(request, on_event=on_event)
    assert killed
    assert first[0].failed and first[0].error_kind == "WorkerProcessExited"
    assert first[0].error == f"worker process exited with code -9 while migrating user {address}"
    assert first[0].duration > 0
    assert [o.failed for o in first[1:]] == [False, False]
    assert all(o.result is not None and o.result.copied > 30 for o in first[1:])
    views = [lambda a=a: read_view(dovecot_target, Login(a.name, a.password)) for a in accounts]
    assert 0 < count(views[0]()) < 350  # it was killed mid-run

    again = run(request)
    assert not any(o.failed for o in again), [o.error for o in again]
    assert [o.result.copied for o in again[1:] if o.result is not None] == [0, 0]
    for account, view in zip(accounts, views, strict=True):
        source = read_view(dovecot_source, Login(account.name, account.password))
        assert differences(migrated(source), non_empty(view())) == []  # all, nothing twice
    assert count(views[0]()) > 350


def _hold_write_lock(url: str, seconds: float, locked: multiprocessing.synchronize.Event) -> None:
    store = StateStore.open(url)
    with store.engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})  # BEGIN IMMEDIATE: the lock
        with connection.begin():
            locked.set()
            time.sleep(seconds)
    store.close()


def test_a_writer_waits_for_another_process_s_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore.open(url).close()
    context = multiprocessing.get_context("spawn")
    locked = context.Event()
    holder = context.Process(target=_hold_write_lock, args=(url, 1.5, locked))
    holder.start()
    try:
        assert locked.wait(15)
        with StateStore.open(url) as store:
            started = time.monotonic()
            mailbox = store.mailbox_id("waits -> for the lock")
            waited = time.monotonic() - started
            assert store.mailbox_id("waits -> for the lock") == mailbox
        assert 0.5 < waited < 30
    finally:
        holder.join(30)
    assert holder.exitcode == 0


def test_a_request_that_cannot_be_pickled_is_refused_before_any_worker(tmp_path: Path) -> None:
    rows = tuple(MigrationUserRow(n, f"u{n}@example.test", f"u{n}", "secret") for n in (2, 3))
    request = MigrationRequest(
        source=SourceSpec(ConnectOptions("127.0.0.1", 1)),
        target=TargetSpec(maildir_root=tmp_path / "m"),
        users=rows,
        state_url=f"sqlite:///{tmp_path / 'state.db'}",
        processes=2,
    )
    with pytest.raises(WorkerSetupError, match="cannot hand the migration to worker processes"):
        run(request, describe=lambda error: "no pickling a lambda")
    assert not multiprocessing.active_children()
    assert not (tmp_path / "m").exists()
