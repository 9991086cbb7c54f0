"""Starting mailferry as a subprocess, killing it with SIGKILL, running it to the end.

Every run gets its own session (process group) so that SIGKILL reaches the whole run at
once, worker processes included, like a crash or the OOM killer's kill of the cgroup;
its output goes to a log file in the round's directory. Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
MAILFERRY = [sys.executable, "-m", "mailferry"]
POLL = 0.02

Done = Callable[[subprocess.Popen[bytes]], bool]


@dataclass(frozen=True)
class KillOutcome:
    delay: float
    killed: bool  # False: the run had ended before the delay
    group: int = 0  # the run's process group
    orphans: int = 0  # its processes still alive after the kill (``main`` kills only)


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILFERRY_BENCH_ARGS"}
    env.update(extra or {})
    return env


def start(argv: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        return subprocess.Popen(
            list(argv),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run's whole process group and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def run(argv: Sequence[str], log: Path, env: dict[str, str], timeout: float) -> int:
    """Run to the end (killed at ``timeout``: then -9)."""
    process = start(argv, log, env)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with log.open("ab") as out:
            out.write(f"\n[crash-loop] timed out after {timeout:.0f} s\n".encode())
        kill_group(process)
        return -9
    finally:
        if process.poll() is None:
            kill_group(process)


def wait_until(
    process: subprocess.Popen[bytes], done: Done, seconds: float, step: float = POLL
) -> bool:
    """Poll ``done`` every ``step`` until it holds (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if done(process):
            return True
        time.sleep(min(step, left))
    return done(process)


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == group:
                found.append(proc.pid)
    return found


def reap_groups(groups: Sequence[int], grace: float) -> int:
    """Let orphans of killed runs end (up to ``grace`` s), then SIGKILL them; how many
    were still there when the grace ran out."""
    deadline = time.monotonic() + grace
    while any(group_members(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sum(len(group_members(g)) for g in groups)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    return left


def kill_after(
    process: subprocess.Popen[bytes],
    delay: float,
    done: Done,
    step: float = POLL,
    whole_group: bool = True,
) -> KillOutcome:
    """SIGKILL at ``delay`` seconds after the start, unless the run is done by then: the
    whole process group, or (``whole_group=False``) only the process started, as an
    administrator's ``kill -9 <pid>`` does; its worker processes then live on."""
    finished = False
    try:
        finished = wait_until(process, done, delay, step)
    finally:
        if whole_group:
            kill_group(process)  # a finished migrate is reaped; a done serve stops here too
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    orphans = 0 if whole_group else len(group_members(process.pid))
    return KillOutcome(delay, not finished, process.pid, orphans)
