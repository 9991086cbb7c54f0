"""Client CPU of a big FETCH, ours against stdlib imaplib, with the server cost taken out.

A fake server (``--serve``, a separate process) streams prebuilt
``* n FETCH (UID n FLAGS (..) INTERNALDATE ".." BODY[] {size}`` responses as
fast as the socket takes them, so the client's CPU is what limits it. Each
client run is a fresh process that measures only its own fetch (getrusage
around it). Clients:

- ``ours-chunk500``: ``fetch_messages`` over UIDs in chunks of 500, 4 in flight;
- ``ours-1:*``: one ``UID FETCH 1:*``, streamed;
- ``imaplib-chunk500``: stdlib imaplib, one 500-UID FETCH at a time.

Prints the best of ``--rounds`` runs per client: CPU seconds, µs of CPU per
message, wall seconds. Run: ``python bench/fetch_cpu.py [--messages N] [--size B]``.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import json
import re
import resource
import socket
import subprocess
import sys
import time

CHUNK = 500
CLIENTS = ("ours-chunk500", "ours-1:*", "imaplib-chunk500")
_RANGE = re.compile(rb"UID FETCH ([0-9]+)(?::([0-9]+|\*))? ")


def _response(seq: int, body: bytes) -> bytes:
    return (
        b'* %d FETCH (UID %d FLAGS (\\Seen $Forwarded) INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
        b" BODY[] {%d}\r\n%s)\r\n" % (seq, seq, len(body), body)
    )


def serve(messages: int, size: int) -> None:
    """The fake server: prints its port, then answers connections one after the other."""
    body = (b"x" * 78 + b"\r\n") * (size // 80) + b"y" * (size % 80)
    responses = [_response(seq, body) for seq in range(1, messages + 1)]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n")
            for line in lines:
                match = _RANGE.search(line)
                if match:
                    first = int(match.group(1))
                    last = match.group(2) or match.group(1)
                    end = messages if last == b"*" else int(last)
                    conn.sendall(b"".join(responses[first - 1 : end]))
                conn.sendall(line.split(b" ", 1)[0] + b" OK done\r\n")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _ours(port: int, messages: int, single: bool) -> int:
    from mailferry.connection.client import ImapClient
    from mailferry.connection.options import ConnectOptions
    from mailferry.values.connection import Security

    client = await ImapClient.connect(ConnectOptions("127.0.0.1", port, Security.NONE))
    uids: str | range = "1:*" if single else range(1, messages + 1)
    count = 0
    async for message in client.fetch_messages(uids, chunk=CHUNK, window=4):
        assert message.body is not None
        count += 1
        message.close()
    await client.logout()
    return count


def _imaplib(port: int, messages: int) -> int:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login("u", "p")
    conn.select("INBOX")
    count = 0
    for start in range(1, messages + 1, CHUNK):
        end = min(messages, start + CHUNK - 1)
        _, parts = conn.uid("FETCH", f"{start}:{end}", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        count += sum(1 for part in parts if isinstance(part, tuple))
    conn.logout()
    return count


def client(name: str, port: int, messages: int) -> None:
    """One measured client run (in its own process); prints a JSON line."""
    import mailferry.connection.client  # noqa: F401  (imports are not the fetch's cost)

    cpu, wall = _cpu(), time.monotonic()
    if name == "imaplib-chunk500":
        count = _imaplib(port, messages)
    else:
        count = asyncio.run(_ours(port, messages, single=name == "ours-1:*"))
    cpu, wall = _cpu() - cpu, time.monotonic() - wall
    print(json.dumps({"client": name, "count": count, "cpu": cpu, "wall": wall}))


def _run_client(name: str, port: int, messages: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--client", name, "--port", str(port)]
    command += ["--messages", str(messages)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    if result["count"] != messages:
        raise SystemExit(f"{name} fetched {result['count']} of {messages} messages")
    return result


def main(messages: int, size: int, rounds: int, clients: list[str]) -> None:
    command = [sys.executable, __file__, "--serve", "--messages", str(messages)]
    server = subprocess.Popen([*command, "--size", str(size)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        print(f"{messages} messages of {size} B; best of {rounds} runs; CPU of the client only")
        print(f"{'client':<18}{'CPU s':>8}{'µs/msg':>9}{'wall s':>9}")
        for name in clients:
            runs = [_run_client(name, port, messages) for _ in range(rounds)]
            best = min(runs, key=lambda run: run["cpu"])
            per_message = best["cpu"] / messages * 1e6
            print(f"{name:<18}{best['cpu']:>8.3f}{per_message:>9.1f}{best['wall']:>9.3f}")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=20 * 1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", action="append", choices=CLIENTS, help="run only this client")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.messages, args.size)
    elif args.client:
        client(args.client, args.port, args.messages)
    else:
        main(args.messages, args.size, args.rounds, args.only or list(CLIENTS))
