"""Benchmark: our IMAP layer against stdlib imaplib on the rig's real Dovecot.

Builds a 20,000-message INBOX (mostly 2–50 KB, 40 of 1–5 MB) with the corpus
generator, then measures, each run in a fresh process (so peak RSS and CPU
are the operation's own):

- fetch-all: UID FETCH in chunks of 500 with (UID FLAGS INTERNALDATE BODY.PEEK[])
  — ours pipelined (4 in flight), imaplib one chunk at a time;
- ours: the whole mailbox in ONE ``UID FETCH 1:*`` (streamed);
- append-5,000 (the first 5,000 messages, with flags and INTERNALDATE):
  ours MULTIAPPEND (50 per command, 2 in flight), ours one-by-one APPEND with
  LITERAL+ (pipelined), imaplib one-by-one APPEND.

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
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CHUNK = 500
ROUNDS = 3
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


async def _ours_fetch(port: int, single: bool, part: int = 0, parts: int = 1) -> tuple[int, int]:
    """One connection fetching every ``parts``-th chunk of 500 UIDs, from chunk ``part``."""
    from mailferry.connection.auth import Credentials
    from mailferry.connection.client import ImapClient
    from mailferry.connection.options import ConnectOptions, Security

    client = await ImapClient.connect(ConnectOptions("127.0.0.1", port, Security.NONE))
    await client.login(Credentials(USER, PASSWORD))
    box = await client.select("INBOX", readonly=True)
    every = range(1, (box.uidnext or 1))
    mine = [u for i, u in enumerate(every) if (i // CHUNK) % parts == part]
    uids: str | list[int] = "1:*" if single else mine
    items = ("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")
    count = total = 0
    async for message in client.fetch_messages(uids, items, chunk=CHUNK, window=4):
        body = message.body
        assert body is not None
        count += 1
        total += body.size
        message.close()
    await client.logout()
    return count, total


async def _two_connections(port: int) -> tuple[int, int]:
    """The same fetch split over two connections (the engine's connections per mailbox)."""
    results = await asyncio.gather(*(_ours_fetch(port, False, part, 2) for part in (0, 1)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _imaplib_fetch(port: int) -> tuple[int, int]:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX", readonly=True)
    _, data = conn.uid("SEARCH", "ALL")  # type: ignore[arg-type]
    uids = data[0].split()
    count = total = 0
    for start in range(0, len(uids), CHUNK):
        chunk = b",".join(uids[start : start + CHUNK]).decode()
        _, parts = conn.uid("FETCH", chunk, "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        for part in parts:
            if isinstance(part, tuple):
                count += 1
                total += len(part[1])
    conn.logout()
    return count, total


async def _ours_append(port: int, maildir: Path, multi: bool) -> tuple[int, int]:
    from mailferry.connection.auth import Credentials
    from mailferry.connection.client import ImapClient
    from mailferry.connection.options import ConnectOptions, Security
    from mailferry.imap.commands import AppendMessage, batch_for_multiappend

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


def worker(op: str, port: int, maildir: Path) -> None:
    if op.startswith("ours"):  # import before the clock starts, as imaplib is
        import mailferry.connection.auth
        import mailferry.connection.client
        import mailferry.imap.commands  # noqa: F401
    cpu0, _ = _usage()
    started = time.monotonic()
    if op == "ours-fetch":
        count, total = asyncio.run(_ours_fetch(port, single=False))
    elif op == "ours-fetch-2conn":
        count, total = asyncio.run(_two_connections(port))
    elif op == "ours-fetch-1:*":
        count, total = asyncio.run(_ours_fetch(port, single=True))
    elif op == "imaplib-fetch":
        count, total = _imaplib_fetch(port)
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
    print(
        json.dumps(
            {
                "op": op,
                "count": count,
                "bytes": total,
                "seconds": seconds,
                "cpu": cpu1 - cpu0,
                "rss_mb": rss,
            }
        )
    )


# -- orchestration -------------------------------------------------------------


def run_worker(op: str, port: int, maildir: Path) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        op,
        "--port",
        str(port),
        "--maildir",
        str(maildir),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


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


def main(messages: int) -> None:
    from mailferry.rig.dovecot import DovecotServer, make_ca

    with tempfile.TemporaryDirectory(prefix="mailferry-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        ca = make_ca(root / "ca")
        source = DovecotServer(root / "source", ca, name="source", fsync=False)
        target = DovecotServer(root / "target", ca, name="target", storage="sdbox", fsync=False)
        for server in (source, target):
            server.add_user(USER, PASSWORD)
        with source, target:
            maildir = build_corpus(source, messages)
            run_worker("imaplib-fetch", source.imap_port, maildir)  # warm-up: index + cache
            fetches = ("ours-fetch", "imaplib-fetch", "ours-fetch-1:*", "ours-fetch-2conn")
            rounds = [
                [run_worker(op, source.imap_port, maildir) for op in fetches] for _ in range(ROUNDS)
            ]
            rows = [median_run([r[i] for r in rounds]) for i in range(len(fetches))]
            for op in ("ours-multiappend", "ours-append-literal+", "imaplib-append"):
                target.reset_user(USER)
                rows.append(run_worker(op, target.imap_port, maildir))
        report(rows)


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median time, annotated with the min-max range."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["range"] = f"{ordered[0]['seconds']:.2f}-{ordered[-1]['seconds']:.2f}"  # type: ignore[assignment]
    return chosen


def report(rows: list[dict[str, float]]) -> None:
    print(
        f"{'operation':<22}{'msgs':>8}{'MB':>9}{'s':>8}{'msg/s':>9}{'MB/s':>8}"
        f"{'CPU s':>7}{'RSS MB':>8}"
    )
    for row in rows:
        mb = row["bytes"] / 1e6
        print(
            f"{row['op']:<22}{row['count']:>8.0f}{mb:>9.1f}{row['seconds']:>8.2f}"
            f"{row['count'] / row['seconds']:>9.0f}{mb / row['seconds']:>8.1f}"
            f"{row['cpu']:>7.2f}{row['rss_mb']:>8.0f}"
        )
    by = {row["op"]: row for row in rows}

    def rate(op: str) -> float:
        return by[op]["count"] / by[op]["seconds"]

    fetch_ratio = rate("ours-fetch") / rate("imaplib-fetch")
    append_ratio = rate("ours-multiappend") / rate("imaplib-append")
    rss = by["ours-fetch-1:*"]["rss_mb"]
    print(
        f"bar: fetch {fetch_ratio:.2f}x imaplib (need >= 1.5): "
        f"{'PASS' if fetch_ratio >= 1.5 else 'FAIL'}"
    )
    two = rate("ours-fetch-2conn") / rate("imaplib-fetch")
    print(
        f"     (two connections: {two:.2f}x imaplib; "
        f"{'PASS' if two >= 1.5 else 'FAIL'} by that measure)"
    )
    print(
        f"bar: MULTIAPPEND {append_ratio:.2f}x imaplib APPEND (need >= 4): "
        f"{'PASS' if append_ratio >= 4 else 'FAIL'}"
    )
    print(
        f"bar: peak RSS of one UID FETCH 1:* {rss:.0f} MB (need < 100): "
        f"{'PASS' if rss < 100 else 'FAIL'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--worker")
    parser.add_argument("--port", type=int)
    parser.add_argument("--maildir", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.port, args.maildir)
    else:
        main(args.messages)
