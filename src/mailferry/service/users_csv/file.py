"""Read a users CSV from a path without trusting what the path is.

``Path.read_bytes`` reads to the end, so ``--csv /dev/zero`` (or a pipe whose writer never
stops) grows until memory runs out, and opening a FIFO that nothing writes to blocks for
ever. Here the path is opened without blocking, a regular file over the limit is refused
by its size before any byte is read, anything else is read up to ``max_bytes + 1`` bytes
(one more than allowed is proof enough), and a pipe or device that hasn't sent everything
within ``timeout`` seconds is given up. Every refusal is a CsvValidationError naming the
file.
"""

from __future__ import annotations

import math
import os
import select
import stat
import time

from mailferry.errors import CsvValidationError
from mailferry.service.users_csv.parse import MAX_BYTES
from mailferry.service.users_csv.problems import CsvProblem, CsvProblemCode, size_limit_words

#: How long reading a pipe or device may take in all (a regular file never waits): ample
#: for a program that writes a 10 MB CSV into a pipe.
READ_TIMEOUT_SECONDS = 60.0
_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def read_csv_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = READ_TIMEOUT_SECONDS,
    source_name: str | None = None,
) -> bytes:
    """The bytes of the CSV at ``path``, at most ``max_bytes`` of them.

    Raises CsvValidationError (headed by ``source_name``, default the path) when the file
    can't be opened or read, is larger than ``max_bytes``, or is a pipe or device that
    hasn't reached its end within ``timeout`` seconds (a FIFO nothing writes to, a terminal).
    """
    name = source_name or str(path)
    shown = str(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _refused(name, _unreadable(shown, exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _refused(name, _problem(f"{shown} is a directory, not a CSV file."))
        if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
            raise _refused(name, _too_large(shown, info.st_mode, max_bytes, info.st_size))
        data = _read_at_most(fd, max_bytes + 1, timeout, name, shown)
    except OSError as exc:
        raise _refused(name, _unreadable(shown, exc)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise _refused(name, _too_large(shown, info.st_mode, max_bytes, None))
    return data


def _read_at_most(fd: int, limit: int, timeout: float, name: str, shown: str) -> bytes:
    """Up to ``limit`` bytes from ``fd`` (non-blocking), for at most ``timeout`` seconds.

    A FIFO without a writer yet is waited for too: poll() reports it only once a writer
    has come (and, when it has gone, reading gives the end of the file).
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    data = bytearray()
    while len(data) < limit:
        if not poller.poll(max(0, math.ceil((deadline - time.monotonic()) * 1000))):
            reason = (
                f"{shown} did not send the whole CSV file within {timeout:g} seconds (a pipe "
                f"that nothing writes to, or a terminal?); reading gave up after "
                f"{len(data):,} bytes."
            )
            raise _refused(name, _problem(reason))
        try:
            chunk = os.read(fd, min(_CHUNK, limit - len(data)))
        except BlockingIOError:
            continue  # woken without data (a writer came and wrote nothing yet)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _too_large(shown: str, mode: int, max_bytes: int, size: int | None) -> CsvProblem:
    limit = size_limit_words(max_bytes)
    if size is not None:
        reason = (
            f"The CSV file {shown} is {size:,} bytes, more than the limit of {limit}. Please "
            f"divide the file into two or more files and submit them separately."
        )
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        reason = (
            f"{shown} is a device, not a CSV file: it gave more than the limit of {limit}, "
            f"and reading stopped there."
        )
    else:
        reason = (
            f"The CSV data read from {shown} is more than the limit of {limit}; reading "
            f"stopped there. Please divide the file into two or more files and submit them "
            f"separately."
        )
    return CsvProblem(None, None, CsvProblemCode.TOO_LARGE, reason)


def _unreadable(shown: str, error: OSError) -> CsvProblem:
    return _problem(f"The CSV file {shown} can't be read: {error.strerror or error}.")


def _problem(reason: str) -> CsvProblem:
    return CsvProblem(None, None, CsvProblemCode.UNREADABLE, reason)


def _refused(name: str, problem: CsvProblem) -> CsvValidationError:
    return CsvValidationError(name, [problem])
