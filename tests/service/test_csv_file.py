"""Reading a users CSV from a path: capped at the size limit, never hanging on a pipe or a
device; and ``mailferry migrate|batch new --csv /dev/zero`` refusing it in bounded time and
memory (issue 9)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailferry.interfaces.cli.words import EXIT_USAGE
from mailferry.service.users_csv.file import read_csv_file
from mailferry.service.users_csv.parse import MAX_BYTES, CsvProblemCode, CsvValidationError
from mailferry.service.vault import Vault

CSV = b"EmailAddress,UserName,Password\r\na@contoso.com,a,p\r\n"
LIMIT_WORDS = "10 MB (10,485,760 bytes)"


def refusal(path: Path | str, **options: float | int | str) -> CsvValidationError:
    with pytest.raises(CsvValidationError) as caught:
        read_csv_file(path, **options)  # type: ignore[arg-type]
    return caught.value


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(CSV)
    assert read_csv_file(path) == CSV
    assert read_csv_file(path, max_bytes=len(CSV)) == CSV


def test_a_regular_file_over_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(CSV)
    error = refusal(path, max_bytes=len(CSV) - 1)
    [problem] = error.problems
    assert (problem.code, problem.row) == (CsvProblemCode.TOO_LARGE, None)
    assert problem.reason.startswith(f"The CSV file {path} is {len(CSV)} bytes, more than")
    assert str(error).startswith(f"{path} was not imported: 1 problem.")


def test_dev_zero_stops_at_the_limit() -> None:
    started = time.monotonic()
    [problem] = refusal("/dev/zero").problems
    assert time.monotonic() - started < 10
    assert problem.code == CsvProblemCode.TOO_LARGE
    assert problem.reason == (
        f"/dev/zero is a device, not a CSV file: it gave more than the limit of {LIMIT_WORDS}, "
        f"and reading stopped there."
    )


def test_dev_null_is_an_empty_file() -> None:
    assert read_csv_file("/dev/null") == b""


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_what_cannot_be_read(tmp_path: Path, what: str) -> None:
    path = tmp_path / "nothing.csv" if what == "missing" else tmp_path
    error = refusal(path, source_name="--csv")
    [problem] = error.problems
    assert problem.code == CsvProblemCode.UNREADABLE
    assert str(path) in problem.reason
    assert str(error).startswith("--csv was not imported")


@contextlib.contextmanager
def fifo_writer(path: Path, data: bytes, endless: bool = False) -> Iterator[None]:
    """A thread writing ``data`` into the FIFO (for ever if ``endless``, until the reader
    goes away)."""

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), path.open("wb", buffering=0) as pipe:
            pipe.write(data)
            while endless:
                pipe.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_a_fifo_without_a_writer_gives_up(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    os.mkfifo(path)
    started = time.monotonic()
    [problem] = refusal(path, timeout=0.3).problems
    assert 0.25 <= time.monotonic() - started < 5  # select() may wake a hair early
    assert problem.code == CsvProblemCode.UNREADABLE
    assert problem.reason.startswith(f"{path} did not send the whole CSV file within 0.3 seconds")


def test_a_fifo_is_read_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    os.mkfifo(path)
    with fifo_writer(path, CSV):
        assert read_csv_file(path, timeout=10) == CSV


def test_an_endless_fifo_stops_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    os.mkfifo(path)
    with fifo_writer(path, b"x" * 65_536, endless=True):
        [problem] = refusal(path, max_bytes=1_000_000, timeout=10).problems
    assert problem.code == CsvProblemCode.TOO_LARGE
    assert problem.reason.startswith(f"The CSV data read from {path} is more than the limit of")


# --- the commands ------------------------------------------------------------------------


#: ``python -m mailferry`` in an address space of 2 GiB (a reader that ate memory fails here
#: instead of taking the machine's), writing its peak resident memory (VmHWM, which unlike
#: ru_maxrss doesn't count what the forked test process had) to the file $PEAK_FILE.
LIMITED_MAILFERRY = """
import atexit, os, resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
def write_peak():
    with open("/proc/self/status") as status, open(os.environ["PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(write_peak)
sys.argv[0] = "mailferry"
runpy.run_module("mailferry", run_name="__main__")
"""


@dataclass(frozen=True)
class Finished:
    code: int
    output: str
    seconds: float
    peak_rss_mb: float


def mailferry(tmp_path: Path, *args: str) -> Finished:
    """``python -m mailferry ARGS`` with a fresh home, at most 2 GiB of address space and
    60 seconds."""
    env = {
        **os.environ,
        "MAILFERRY_HOME": str(tmp_path / "home"),
        "MAILFERRY_DB": f"sqlite:///{tmp_path / 'state.db'}",
        "MAILFERRY_KEY": Vault.generate_key().decode(),
        "PEAK_FILE": str(tmp_path / "peak.txt"),
    }

    started = time.monotonic()
    with (tmp_path / "output.txt").open("w+b") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", LIMITED_MAILFERRY, *args],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=tmp_path,
        )  # fmt: skip
        killer = threading.Timer(60, process.kill)
        killer.start()
        try:
            code = process.wait()
        finally:
            killer.cancel()
        output.seek(0)
        text = output.read().decode(errors="replace")
    peak_kib = int((tmp_path / "peak.txt").read_text())
    return Finished(code, text, time.monotonic() - started, peak_kib / 1024)


@pytest.mark.parametrize(
    "command",
    [
        ["migrate", "--source-server", "127.0.0.1", "--target", "maildir:mail"],
        ["batch", "new", "--name", "B1", "--source-endpoint", "E1"],
    ],
    ids=["migrate", "batch-new"],
)
def test_csv_dev_zero_is_refused_in_bounded_time_and_memory(
    tmp_path: Path, command: list[str]
) -> None:
    finished = mailferry(tmp_path, *command, "--csv", "/dev/zero")
    assert finished.code == EXIT_USAGE, finished.output
    assert "Traceback" not in finished.output
    assert "error: /dev/zero was not imported: 1 problem." in finished.output
    device = f"/dev/zero is a device, not a CSV file: it gave more than the limit of {LIMIT_WORDS}"
    assert device in finished.output
    assert finished.seconds < 45
    assert finished.peak_rss_mb < 100 + 3 * MAX_BYTES / 2**20  # the interpreter, and the cap
