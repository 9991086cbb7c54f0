"""Benchmark: our IMAP layer against stdlib imaplib on the rig's real Dovecot.

Builds a 20,000-message INBOX (mostly 2–50 KB, 40 of 1–5 MB) with the corpus
generator, then measures, each run in a fresh process (so peak RSS and CPU
are the operation's own):

- fetch-all: UID FETCH in chunks of 500 with (UID FLAGS INTERNALDATE BODY.PEEK[])
  — ours pipelined (4 in flight), imaplib one chunk at a time; both clients
  end up with each message's UID, flags and INTERNALDATE as values (imaplib
  through its own ``ParseFlags`` and ``Internaldate2tuple``) and its body;
- ours: the whole mailbox in ONE ``UID FETCH 1:*`` (streamed);
- ours: the same chunks spread over 2 connections (``fetch_parallel``);
- append-5,000 (the first 5,000 messages, with flags and INTERNALDATE):
  ours MULTIAPPEND (50 per command, 2 in flight), ours one-by-one APPEND with
  LITERAL+ (pipelined), imaplib one-by-one APPEND.

Fairness: before anything is timed, each fetch runs once untimed with its
bodies checked byte for byte (CRC-32 of every body against the Maildir files),
which also leaves Dovecot's index and cache and the page cache warm for all.
The fetches are then repeated ``--rounds`` times, the order rotating each round;
each row is the run with the median time, and the fetch bar uses the median of
the per-round ratios (ours and imaplib of the same round). ``srv CPU`` is the
CPU Dovecot's processes used for the operation: on loopback, one session can
go no faster than its one Dovecot process reads and sends the mail. The append
target writes to tmpfs (bench/peers/machine.py says why).

Prints a table and the issue's bars. Run: ``python bench/imap_layer.py``
(``--messages N`` for a smaller trial). Not a test: it only prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import imaplib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.peers.machine import memory_tempdir, server_cpu  # noqa: E402

CHUNK = 500
ROUNDS = 5
ITEMS = ("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")
APPEND_COUNT = 5_000
USER, PASSWORD = "bench", "benchpw"
_FLAG_LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}


def maildir_messages(maildir: Path, limit: int) -> Iterator[tuple[Path, tuple[str, ...], float]]:
    """(file, system flags, mtime) of INBOX's messages, oldest name first, lazily."""
    names = sorted(os.listdir(maildir / "cur"))[:limit]
    for name in names:
        path = maildir / "cur" / name
        letters = name.rsplit(":2,", 1)[1] if ":2," in name else ""
        flags = tuple(_FLAG_LETTERS[c] for c in letters if c in _FLAG_LETTERS)
        yield path, flags, path.stat().st_mtime


# -- workers: each runs in its own process and prints one JSON line --------------


def _usage() -> tuple[float, float]:
    """CPU seconds so far and peak RSS in MB (VmHWM: ru_maxrss survives exec on Linux)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return usage.ru_utime + usage.ru_stime, peak_kb / 1024


class Checksum:
    """Count, bytes and an order-free sum of CRC-32s of the bodies (when ``check``)."""

    def __init__(self, check: bool) -> None:
        self.check = check
        self.count = self.total = self.crc = 0

    def add(self, body: bytes | memoryview, size: int) -> None:
        self.count += 1
        self.total += size
        if self.check:
            self.crc += zlib.crc32(body)

    def result(self) -> tuple[int, int, int]:
        return self.count, self.total, self.crc


async def _ours_session(port: int) -> Any:
    from mailferry.connection.auth import Credentials
    from mailferry.connection.client import ImapClient
    from mailferry.connection.options import ConnectOptions
    from mailferry.values.connection import Security

    client = await ImapClient.connect(ConnectOptions("127.0.0.1", port, Security.NONE))
    await client.login(Credentials(USER, PASSWORD))
    await client.select("INBOX", readonly=True)
    return client


def _ours_take(message: Any, sums: Checksum) -> None:
    body = message.body
    assert body is not None and message.uid is not None and message.internaldate is not None
    assert isinstance(message.flags, tuple)
    sums.add(body.view() if sums.check else b"", body.size)
    message.close()


async def _ours_fetch(port: int, single: bool, check: bool) -> tuple[int, int, int]:
    """One connection: chunks of 500 UIDs (4 in flight), or one ``UID FETCH 1:*``."""
    client = await _ours_session(port)
    uids: str | range = "1:*" if single else range(1, client.selected.uidnext or 1)
    sums = Checksum(check)
    async for message in client.fetch_messages(uids, ITEMS, chunk=CHUNK, window=4):
        _ours_take(message, sums)
    await client.logout()
    return sums.result()


async def _ours_parallel(port: int, connections: int, check: bool) -> tuple[int, int, int]:
    """The same chunks spread over several connections (``fetch_parallel``)."""
    from mailferry.connection.parallel import fetch_parallel

    clients = await asyncio.gather(*(_ours_session(port) for _ in range(connections)))
    uids = range(1, clients[0].selected.uidnext or 1)
    sums = Checksum(check)
    async for message in fetch_parallel(clients, uids, ITEMS, chunk=CHUNK, window=4):
        _ours_take(message, sums)
    await asyncio.gather(*(client.logout() for client in clients))
    return sums.result()


_IMAPLIB_UID = re.compile(rb"[( ]UID ([0-9]+)")


def _imaplib_fetch(port: int, check: bool) -> tuple[int, int, int]:
    """imaplib as a competent user writes it: UID SEARCH, then UID FETCH 500 at a time."""
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX", readonly=True)
    _, data = conn.uid("SEARCH", "ALL")  # type: ignore[arg-type]
    uids = data[0].split()
    sums = Checksum(check)
    for start in range(0, len(uids), CHUNK):
        chunk = b",".join(uids[start : start + CHUNK]).decode()
        _, parts = conn.uid("FETCH", chunk, "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        for part in parts:
            if isinstance(part, tuple):
                head, body = part
                match = _IMAPLIB_UID.search(head)
                date = imaplib.Internaldate2tuple(head)
                assert match is not None and date is not None
                uid, flags = int(match.group(1)), imaplib.ParseFlags(head)
                assert uid > 0 and isinstance(flags, tuple)
                sums.add(body, len(body))
    conn.logout()
    return sums.result()


async def _ours_append(port: int, maildir: Path, multi: bool) -> tuple[int, int]:
    from mailferry.connection.auth import Credentials
    from mailferry.connection.client import ImapClient
    from mailferry.connection.options import ConnectOptions
    from mailferry.imap.commands import AppendMessage, batch_for_multiappend
    from mailferry.values.connection import Security

    client = await ImapClient.connect(ConnectOptions("127.0.0.1", port, Security.NONE))
    await client.login(Credentials(USER, PASSWORD))
    await client.create("Bench")
    messages = (
        AppendMessage(path.read_bytes(), flags, dt.datetime.fromtimestamp(mtime, dt.UTC))
        for path, flags, mtime in maildir_messages(maildir, APPEND_COUNT)
    )
    batches = batch_for_multiappend(messages, max_count=50) if multi else ([m] for m in messages)
    count = total = 0
    async for batch, result in client.append_batches("Bench", batches, window=2 if multi else 32):
        assert not isinstance(result, Exception), result
        count += len(batch)
        total += sum(len(m.data) for m in batch)
    status = await client.status("Bench", ("MESSAGES",))
    assert status["MESSAGES"] == count, status
    await client.logout()
    return count, total


def _imaplib_append(port: int, maildir: Path) -> tuple[int, int]:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    conn.create("Bench")
    count = total = 0
    for path, flags, mtime in maildir_messages(maildir, APPEND_COUNT):
        data = path.read_bytes()
        date = imaplib.Time2Internaldate(mtime)
        typ, _ = conn.append("Bench", "(" + " ".join(flags) + ")", date, data)
        assert typ == "OK"
        count += 1
        total += len(data)
    conn.logout()
    return count, total


FETCHES = ("ours-fetch", "imaplib-fetch", "ours-fetch-1:*", "ours-fetch-2conn")


def _fetch(op: str, port: int, check: bool) -> tuple[int, int, int]:
    if op == "ours-fetch":
        return asyncio.run(_ours_fetch(port, single=False, check=check))
    if op == "ours-fetch-1:*":
        return asyncio.run(_ours_fetch(port, single=True, check=check))
    if op == "ours-fetch-2conn":
        return asyncio.run(_ours_parallel(port, 2, check))
    if op == "imaplib-fetch":
        return _imaplib_fetch(port, check)
    raise SystemExit(f"unknown op {op}")


def worker(op: str, port: int, maildir: Path, check: bool) -> None:
    if op.startswith("ours"):  # import before the clock starts, as imaplib is
        import mailferry.connection.auth
        import mailferry.connection.client
        import mailferry.connection.parallel
        import mailferry.imap.commands  # noqa: F401
    cpu0, _ = _usage()
    started = time.monotonic()
    crc = 0
    if op in FETCHES:
        count, total, crc = _fetch(op, port, check)
    elif op == "ours-multiappend":
        count, total = asyncio.run(_ours_append(port, maildir, multi=True))
    elif op == "ours-append-literal+":
        count, total = asyncio.run(_ours_append(port, maildir, multi=False))
    elif op == "imaplib-append":
        count, total = _imaplib_append(port, maildir)
    else:
        raise SystemExit(f"unknown op {op}")
    seconds = time.monotonic() - started
    cpu1, rss = _usage()
    row = {"op": op, "count": count, "bytes": total, "seconds": seconds}
    print(json.dumps({**row, "cpu": cpu1 - cpu0, "rss_mb": rss, "crc": crc}))


# -- orchestration -------------------------------------------------------------


def run_worker(op: str, server: Any, maildir: Path, check: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", op, "--port", str(server.imap_port)]
    command += ["--maildir", str(maildir), *(["--check"] if check else [])]
    before = server_cpu(server.pid)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    time.sleep(0.2)  # let the session's processes finish
    row = dict(json.loads(output.strip().splitlines()[-1]))
    row["srv_cpu"] = (server_cpu(server.pid) - before).total
    return row


def expected_crc(maildir: Path) -> tuple[int, int, int]:
    """What a byte-exact fetch of INBOX gives (the rig writes CRLF files: BODY[] = file)."""
    sums = Checksum(True)
    for name in os.listdir(maildir / "cur"):
        data = (maildir / "cur" / name).read_bytes()
        sums.add(data, len(data))
    return sums.result()


def verify_fetches(server: Any, maildir: Path) -> None:
    """Each fetch once, untimed, bodies checked; also warms every cache for all clients."""
    expected = expected_crc(maildir)
    for op in FETCHES:
        row = run_worker(op, server, maildir, check=True)
        got = (row["count"], row["bytes"], row["crc"])
        if got != expected:
            raise SystemExit(f"{op}: fetched (count, bytes, crc) {got}, expected {expected}")
    print(f"bodies: every fetch gave all {expected[0]} bodies byte for byte (CRC-32 checked)")


def timed_fetches(server: Any, maildir: Path, rounds: int) -> list[list[dict[str, Any]]]:
    """``rounds`` rounds of every fetch, the order rotating by one each round."""
    results: list[list[dict[str, Any]]] = []
    for number in range(rounds):
        shift = number % len(FETCHES)
        order = FETCHES[shift:] + FETCHES[:shift]
        by_op = {op: run_worker(op, server, maildir) for op in order}
        results.append([by_op[op] for op in FETCHES])
    return results


def build_corpus(server: object, messages: int) -> Path:
    from mailferry.rig.corpus import CorpusSpec, generate

    spec = CorpusSpec(
        seed=20_000,
        folders=("INBOX",),
        messages=messages,
        large_count=max(1, messages // 500),
        large_size=(1024 * 1024, 5 * 1024 * 1024),
        malformed_fraction=0.0,
        deleted_fraction=0.0,
    )
    started = time.monotonic()
    written = server.write_maildir(USER, generate(spec))  # type: ignore[attr-defined]
    print(f"corpus: {written} messages written in {time.monotonic() - started:.1f} s")
    return Path(server.user_mail_dir(USER))  # type: ignore[attr-defined]


def main(messages: int, rounds: int) -> None:
    from mailferry.rig.dovecot import DovecotServer, make_ca

    with (
        tempfile.TemporaryDirectory(prefix="mailferry-bench-") as tmp,
        memory_tempdir("mailferry-bench-target-") as memory,
    ):
        root, target_root = Path(tmp), Path(memory)
        root.chmod(0o755)
        target_root.chmod(0o755)
        ca = make_ca(root / "ca")
        source = DovecotServer(root / "source", ca, name="source", fsync=False)
        target = DovecotServer(
            target_root / "target", ca, name="target", storage="sdbox", fsync=False
        )
        for server in (source, target):
            server.add_user(USER, PASSWORD)
        with source, target:
            maildir = build_corpus(source, messages)
            verify_fetches(source, maildir)
            results = timed_fetches(source, maildir, rounds)
            rows = [median_run([r[i] for r in results]) for i in range(len(FETCHES))]
            for op in ("ours-multiappend", "ours-append-literal+", "imaplib-append"):
                target.reset_user(USER)
                rows.append(run_worker(op, target, maildir))
        report(rows, results)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def round_ratios(results: list[list[dict[str, Any]]], op: str) -> list[float]:
    """Per round: imaplib's fetch time over ``op``'s (its msg/s over imaplib's)."""
    ours, base = FETCHES.index(op), FETCHES.index("imaplib-fetch")
    return sorted(r[base]["seconds"] / r[ours]["seconds"] for r in results)


def report(rows: list[dict[str, Any]], results: list[list[dict[str, Any]]]) -> None:
    print(
        f"{'operation':<22}{'msgs':>8}{'MB':>9}{'s':>8}{'msg/s':>9}{'MB/s':>8}"
        f"{'CPU s':>7}{'RSS MB':>8}{'srv CPU':>9}"
    )
    for row in rows:
        mb = row["bytes"] / 1e6
        print(
            f"{row['op']:<22}{row['count']:>8.0f}{mb:>9.1f}{row['seconds']:>8.2f}"
            f"{row['count'] / row['seconds']:>9.0f}{mb / row['seconds']:>8.1f}"
            f"{row['cpu']:>7.2f}{row['rss_mb']:>8.0f}{row['srv_cpu']:>9.2f}"
        )
    print(f"(fetch rows: the median of {len(results)} rounds; append rows: one run)")
    by = {row["op"]: row for row in rows}

    def ratio_line(label: str, op: str) -> float:
        ratios = round_ratios(results, op)
        median = ratios[len(ratios) // 2]
        verdict = "PASS" if median >= 1.5 else "FAIL"
        spread = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
        print(f"{label} {median:.2f}x imaplib (rounds {spread}; need >= 1.5): {verdict}")
        return median

    ratio_line("bar: fetch", "ours-fetch")
    ratio_line("     fetch over 2 connections", "ours-fetch-2conn")
    append_ratio = by["imaplib-append"]["seconds"] / by["ours-multiappend"]["seconds"]
    print(
        f"bar: MULTIAPPEND {append_ratio:.2f}x imaplib APPEND (need >= 4): "
        f"{'PASS' if append_ratio >= 4 else 'FAIL'}"
    )
    rss = by["ours-fetch-1:*"]["rss_mb"]
    print(
        f"bar: peak RSS of one UID FETCH 1:* {rss:.0f} MB (need < 100): "
        f"{'PASS' if rss < 100 else 'FAIL'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--worker")
    parser.add_argument("--port", type=int)
    parser.add_argument("--maildir", type=Path)
    parser.add_argument("--check", action="store_true", help="CRC-32 every body")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.port, args.maildir, args.check)
    else:
        main(args.messages, args.rounds)
