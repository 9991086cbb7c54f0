"""Dot-locks left behind by a killed writer are broken once stale, never reported as
a failure: the wait for a dot-lock outlasts its stale age. (A kill -9 mid-rewrite of
``dovecot-uidlist`` used to fail the next run's folder with "File exists".)"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mailferry.stores import maildir_io


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
