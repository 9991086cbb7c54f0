"""What the benchmarks need from the machine: a memory-backed directory and server CPU.

Why TARGET servers write to tmpfs: emptying a target between runs deletes thousands
of files, and ext4 then spends its time in ``recently_deleted()`` on every new file
(it scans the inode group for inodes freed in the last few seconds so as not to reuse
them). perf showed 25-40 % of the target Dovecot's CPU there, and its system time
swung from 1 s to 8 s for the same 372 MB of writes from one run to the next: the
benchmark measured ext4's inode allocator, not Dovecot or us. On tmpfs the target
costs the same every run. (The source stays on disk: it is written once.)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

_SHM = Path("/dev/shm")


def memory_tempdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary directory on tmpfs when the machine has one (else the default tmp)."""
    where = str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix=prefix, dir=where)


@dataclass(frozen=True)
class CpuSeconds:
    """User and system CPU seconds."""

    user: float = 0.0
    system: float = 0.0

    @property
    def total(self) -> float:
        return self.user + self.system

    def __sub__(self, other: CpuSeconds) -> CpuSeconds:
        return CpuSeconds(self.user - other.user, self.system - other.system)


def server_cpu(pid: int) -> CpuSeconds:
    """CPU of a Dovecot master, its live children and the children it reaped.

    Take it before and after an operation (and let the sessions end in between):
    the difference is what the server spent on it.
    """
    tick = os.sysconf("SC_CLK_TCK")

    def times(proc: int, reaped: bool) -> CpuSeconds:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone between listing and reading: counted once reaped
            return CpuSeconds()
        user, system = int(fields[11]), int(fields[12])
        if reaped:
            user, system = user + int(fields[13]), system + int(fields[14])
        return CpuSeconds(user / tick, system / tick)

    parts = [times(pid, True)] + [times(c.pid, False) for c in psutil.Process(pid).children()]
    return CpuSeconds(sum(p.user for p in parts), sum(p.system for p in parts))
