"""Process and socket plumbing for rig servers: free ports, greetings, clean shutdown."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable

import psutil

_PR_SET_PDEATHSIG = 1


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the kernel just handed out for ``host`` (bound together, then released)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def read_greeting(host: str, port: int, timeout: float) -> bytes:
    """Connect, read the first line, close. Raises OSError when nothing usable comes."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        data = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in data and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def tls_greeting(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    """Handshake (verifying the certificate) and read the first line over TLS.

    Raises ``ssl.SSLError`` when the handshake fails, ``OSError`` when nobody answers.
    """
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as sock,
    ):
        return sock.recv(4096)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that kills the child (SIGTERM) if this thread dies, on Linux.

    Only offered from the main thread: the kernel ties PDEATHSIG to the forking thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)

    def _set() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return _set


def process_tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants that are still alive."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def is_alive(proc: psutil.Process) -> bool:
    """Running, sleeping, stopped... anything but gone or a zombie.

    Orphaned zombies are not ours to reap (PID 1 may never do it in a sandbox); they
    hold no resources beyond a process-table slot.
    """
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until none of ``procs`` is alive (a zombie counts as gone); the rest."""
    return _wait_gone(procs, timeout)


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if is_alive(p)]
    return alive


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the session leader's whole group (ours: started with start_new_session)."""
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signum)
            return
    except ProcessLookupError:
        return
    proc.send_signal(signum)


def terminate(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop the process we started and every descendant it had.

    The whole process group gets SIGTERM at once (Dovecot's master alone would leave a
    session process with a connected client lingering for ten seconds); whatever is
    still alive afterwards gets SIGTERM again, then SIGKILL.
    """
    tree = process_tree(proc.pid)
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    children = [p for p in tree if p.pid != proc.pid]
    alive = _wait_gone(children, 0.5)
    for signal_sender in (psutil.Process.terminate, psutil.Process.kill):
        for leftover in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                signal_sender(leftover)
        alive = _wait_gone(alive, 2.0)
