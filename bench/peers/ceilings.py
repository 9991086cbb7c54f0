"""The raw ceilings, run as their own process (``python -m bench.peers.ceilings``).

- read: our ``ImapClient`` fetching every message of every folder of every user from
  the source (UID FETCH chunks of 500, 4 in flight), bodies discarded;
- write: MULTIAPPEND only (batches of 50, 2 in flight) of the same bytes into the
  emptied target. The messages are regenerated from the corpus spec and held in memory
  BEFORE the clock starts (so this process's RSS includes the whole corpus); messages
  over mailferry's 35 MiB limit are left out, so the ceiling writes what mailferry must.

Users run concurrently (one connection each), like a batch migration. Prints one JSON
line: seconds and cpu (user + system seconds of this process; both the timed part
only), messages, bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

from bench.peers.context import HOST
from bench.peers.corpora import CORPORA, MAILFERRY_MAX_MESSAGE, BenchUser, messages_of

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.imap.commands import AppendMessage, batch_for_multiappend
from mailferry.values.connection import Security

_ITEMS = ("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")
Preloaded = dict[str, list[AppendMessage]]


async def _login(port: int, user: BenchUser) -> ImapClient:
    client = await ImapClient.connect(
        ConnectOptions(HOST, port, Security.NONE, command_timeout=600)
    )
    await client.login(Credentials(user.name, user.password))
    return client


async def _read_user(port: int, user: BenchUser) -> tuple[int, int]:
    client = await _login(port, user)
    count = total = 0
    for entry in await client.list_folders():
        if any(a.lower() in ("\\noselect", "\\nonexistent") for a in entry.attributes):
            continue
        box = await client.select(entry.name, readonly=True)
        if not box.exists:
            continue
        uids = await client.uid_search("ALL")
        async for message in client.fetch_messages(uids, _ITEMS, chunk=500, window=4):
            if message.body is not None:
                total += message.body.size
            count += 1
            message.close()
    await client.logout()
    return count, total


def _preload(user: BenchUser) -> Preloaded:
    folders: Preloaded = {}
    for folder in user.spec.folders:
        parts = folder.split("/")
        for depth in range(1, len(parts) + 1):
            folders.setdefault("/".join(parts[:depth]), [])
    for message in messages_of(user):
        if message.imap_size > MAILFERRY_MAX_MESSAGE:
            continue
        data = message.imap_data
        folders.setdefault(message.folder, []).append(
            AppendMessage(data, message.flags, message.internaldate)
        )
    return folders


async def _write_user(port: int, user: BenchUser, folders: Preloaded) -> tuple[int, int]:
    client = await _login(port, user)
    delimiter = (await client.list_folders("", "INBOX"))[0].delimiter or "/"
    count = total = 0
    for folder, messages in folders.items():
        name = folder.replace("/", delimiter)
        if folder.upper() != "INBOX":
            await client.create(name)
        batches = batch_for_multiappend(messages, max_count=50)
        async for batch, result in client.append_batches(name, batches, window=2):
            if isinstance(result, Exception):
                raise result
            count += len(batch)
            total += sum(m.size for m in batch)
    await client.logout()
    return count, total


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run(op: str, users: tuple[BenchUser, ...], port: int) -> dict[str, float]:
    if op == "read":
        started, cpu = time.monotonic(), _cpu()
        results = await asyncio.gather(*(_read_user(port, u) for u in users))
    else:
        loaded = [_preload(u) for u in users]  # outside the timing
        started, cpu = time.monotonic(), _cpu()
        results = await asyncio.gather(
            *(_write_user(port, u, f) for u, f in zip(users, loaded, strict=True))
        )
    return {
        "seconds": time.monotonic() - started,
        "cpu": _cpu() - cpu,
        "messages": sum(r[0] for r in results),
        "bytes": sum(r[1] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="read / write ceiling worker")
    parser.add_argument("op", choices=("read", "write"))
    parser.add_argument("--corpus", choices=sorted(CORPORA), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    users = CORPORA[args.corpus](args.scale).users
    print(json.dumps(asyncio.run(_run(args.op, users, args.port))))


if __name__ == "__main__":
    main()
