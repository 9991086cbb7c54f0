"""Locks and a killed writer. Dot-locks left behind are broken once stale, never
reported as a failure: the wait for a dot-lock outlasts its stale age. Our own files
need no dot-lock at all (a kill -9 mid-rewrite of ``mailferry-uids`` used to stall
the next run 30 s, and the other folders' workers, waiting for the mailbox flock
meanwhile, gave up after 20 s and skipped their folders)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from pathlib import Path

import pytest

from mailferry.errors import MailboxLocked
from mailferry.service.jobs.retry_policy import is_transient
from mailferry.stores import maildir_io
from mailferry.stores.maildir_folder import STATE_FILE
from tests.stores.test_maildir_target import ADDRESS, item, uids, with_mailbox


def test_a_fresh_lock_of_a_dead_writer_is_broken_once_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maildir_io, "_STALE_LOCK_SECONDS", 0.5)
    monkeypatch.setattr(maildir_io, "_LOCK_WAIT_SECONDS", 0.1)  # the flock wait: unrelated
    (tmp_path / "dovecot-uidlist").write_text("old\n")
    (tmp_path / "dovecot-uidlist.lock").write_text("half-written by a killed process")
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        started = time.monotonic()
        maildir_io.replace_text(dir_fd, "dovecot-uidlist", "new\n")
        waited = time.monotonic() - started
    finally:
        os.close(dir_fd)
    assert (tmp_path / "dovecot-uidlist").read_text() == "new\n"
    assert not (tmp_path / "dovecot-uidlist.lock").exists()
    assert 0.4 <= waited < 5.0


def test_a_killed_writer_of_our_uid_file_stalls_nothing(tmp_path: Path) -> None:
    async def first(mailbox):  # type: ignore[no-untyped-def]
        await mailbox.ensure_folder("Work")
        return uids(await mailbox.append("Work", [item(1), item(2)]))

    async def second(mailbox):  # type: ignore[no-untyped-def]
        return uids(await mailbox.append("Work", [item(3)]))

    assert with_mailbox(tmp_path, first) == [1, 2]
    folder = tmp_path / ADDRESS / ".Work"
    # What a kill -9 in the middle of a rewrite leaves: an old-style dot-lock and a
    # half-written new file.
    (folder / f"{STATE_FILE}.lock").write_text("uidvalid")
    (folder / f"{STATE_FILE}.new").write_text("uidvalid")
    started = time.monotonic()
    assert with_mailbox(tmp_path, second) == [3]
    assert time.monotonic() - started < 5.0  # not the 30 s stale age
    assert "uidnext 4" in (folder / STATE_FILE).read_text()
    assert not (folder / f"{STATE_FILE}.new").exists()


def test_a_mailbox_locked_by_a_live_process_past_the_wait_is_a_transient_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(mailbox):  # type: ignore[no-untyped-def]
        return await mailbox.append("INBOX", [item(1)])

    async def ensure(mailbox):  # type: ignore[no-untyped-def]
        await mailbox.ensure_folder("INBOX")

    with_mailbox(tmp_path, ensure)
    monkeypatch.setattr(maildir_io, "_LOCK_WAIT_SECONDS", 0.3)
    holder = os.open(tmp_path / ADDRESS / "mailferry-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another open file: another process, to flock
        with pytest.raises(MailboxLocked) as caught:
            with_mailbox(tmp_path, scenario)
    finally:
        os.close(holder)
    assert is_transient(caught.value)
    assert "mailferry-lock" in str(caught.value) and "0.3 s" in str(caught.value)
    assert uids(with_mailbox(tmp_path, scenario)) == [1]  # free again: it works


def test_a_flock_waiter_outlasts_a_holder_breaking_a_stale_dot_lock() -> None:
    """The holder of the mailbox flock may wait for a dead writer's dot-lock
    (``dovecot-keywords.lock``) until it is stale; waiters must wait longer."""
    assert maildir_io._LOCK_WAIT_SECONDS > maildir_io._DOTLOCK_WAIT_SECONDS + 10
    assert maildir_io._DOTLOCK_WAIT_SECONDS > maildir_io._STALE_LOCK_SECONDS


def test_waiting_mailbox_operations_survive_a_slow_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folder workers of one mailbox queue on its flock; one slow holder (here: 1 s)
    delays the others, it does not fail them."""
    monkeypatch.setattr(maildir_io, "_LOCK_WAIT_SECONDS", 3.0)

    with_mailbox(tmp_path, lambda m: m.ensure_folder("A"))
    holder = os.open(tmp_path / ADDRESS / "mailferry-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)

    async def release_later() -> None:
        await asyncio.sleep(1.0)
        os.close(holder)

    async def both():  # type: ignore[no-untyped-def]
        from mailferry.stores.maildir_target import MaildirTarget

        mailbox = MaildirTarget(tmp_path).mailbox(ADDRESS)
        try:
            _, got = await asyncio.gather(release_later(), mailbox.append("A", [item(1)]))
            return uids(got)
        finally:
            await mailbox.close()

    assert asyncio.run(both()) == [1]
