"""Run tool processes under GNU time, in parallel, with a deadline.

Each command runs as ``/usr/bin/time -v -o <file> <command>`` in its own session, so
its peak RSS ("Maximum resident set size") is the tool's own (ru_maxrss of a child
that exec'd from the small ``time`` image), its CPU seconds (user + system, the tool's
processes and their children) are read from the same report, and a timeout can kill
the whole group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time"
_TAIL = 300


@dataclass(frozen=True)
class Measured:
    """The outcome of one step (one or several processes started together)."""

    seconds: float
    peak_rss_mb: float  # the largest single process
    ok: bool
    timed_out: bool = False
    error: str = ""
    cpu: float = 0.0  # user + system seconds of all the processes

    @property
    def status(self) -> str:
        if self.timed_out:
            return "TIMEOUT"
        return "ok" if self.ok else "ERROR"


def run_parallel(
    commands: Sequence[Sequence[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ok_codes: Sequence[int] = (0,),
) -> Measured:
    """Start every command at once; wall time until the last one ends."""
    if not Path(GNU_TIME).exists():
        raise SystemExit(f"{GNU_TIME} is missing: run scripts/bench-setup.sh")
    with tempfile.TemporaryDirectory(prefix="mf-bench-run-") as tmp:
        procs = []
        started = time.monotonic()
        for number, command in enumerate(commands):
            timing = Path(tmp) / f"time-{number}.txt"
            log = (Path(tmp) / f"out-{number}.txt").open("wb")
            procs.append(
                (
                    subprocess.Popen(
                        [GNU_TIME, "-v", "-o", str(timing), *command],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=dict(env) if env is not None else None,
                        cwd=cwd,
                        start_new_session=True,
                    ),
                    timing,
                    log,
                )
            )
        deadline = started + timeout
        timed_out = False
        for proc, _, _ in procs:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                timed_out = True
                break
        if timed_out:
            for proc, _, _ in procs:
                _kill_group(proc)
        seconds = time.monotonic() - started
        errors, peak, cpu = [], 0.0, 0.0
        for number, (proc, timing, log) in enumerate(procs):
            log.close()
            peak = max(peak, _max_rss_mb(timing))
            cpu += _cpu_seconds(timing)
            if not timed_out and proc.returncode not in ok_codes:
                output = (Path(tmp) / f"out-{number}.txt").read_text(errors="replace")
                errors.append(f"exit {proc.returncode}: {_gist(output)}")
        error = errors[0] if errors else (f"killed after {timeout:g} s" if timed_out else "")
        if len(errors) > 1:
            error += f" (and {len(errors) - 1} more processes failed)"
        return Measured(seconds, peak, not errors and not timed_out, timed_out, error, cpu)


def _gist(output: str) -> str:
    """The tool's distinct ERROR lines (or its last words) without tracebacks."""
    lines = [line.strip() for line in output.splitlines()]
    flagged = list(dict.fromkeys(line for line in lines if "error" in line.lower()))
    text = " | ".join(flagged[:2]) if flagged else " | ".join(lines[-3:])
    return text[-_TAIL:]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _cpu_seconds(timing: Path) -> float:
    """GNU time's "User time" plus "System time" (0 when unknown)."""
    if not timing.exists():
        return 0.0
    total = 0.0
    for line in timing.read_text(errors="replace").splitlines():
        if "User time (seconds)" in line or "System time (seconds)" in line:
            total += float(line.rsplit(":", 1)[1])
    return total


def _max_rss_mb(timing: Path) -> float:
    """GNU time's "Maximum resident set size (kbytes)" in MB (0 when unknown)."""
    if not timing.exists():
        return 0.0
    for line in timing.read_text(errors="replace").splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1]) / 1024
    return 0.0
