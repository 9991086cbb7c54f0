"""Fixtures of the engine tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def fast_path(tmp_path: Path) -> Iterator[Path]:
    """A temp dir in RAM when the machine has /dev/shm: the crash tests run a few hundred
    syncs, and every one of them fsyncs Maildir files and SQLite commits."""
    if not (os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="mailferry-engine-", dir="/dev/shm"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
