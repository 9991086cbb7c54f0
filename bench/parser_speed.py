"""Micro-benchmark of the response parser's FETCH hot path (prints figures; not a test).

Parses 20,000 ``* n FETCH (UID .. FLAGS .. INTERNALDATE .. RFC822.SIZE .. MODSEQ ..
BODY[] {20480}`` responses fed in 64 KiB chunks, and reports CPU time and throughput.
Run: ``python bench/parser_speed.py [messages] [body_size] [chunk_size]``.
"""

from __future__ import annotations

import sys
import time

from mailferry.imap.events import FetchResponse, LiteralData
from mailferry.imap.parser import ResponseParser


def build_stream(messages: int, body_size: int) -> bytes:
    body = (b"X" * 76 + b"\r\n") * (body_size // 78) + b"Y" * (body_size % 78)
    parts = [b"* OK [CAPABILITY IMAP4rev1] ready\r\n"]
    for seq in range(1, messages + 1):
        parts.append(
            b"* %d FETCH (UID %d FLAGS (\\Seen $Forwarded) "
            b'INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE %d '
            b"MODSEQ (12121231000) BODY[] {%d}\r\n" % (seq, seq + 1000, len(body), len(body))
        )
        parts.append(body)
        parts.append(b")\r\n")
    parts.append(b"a1 OK Fetch completed.\r\n")
    return b"".join(parts)


def run(stream: bytes, chunk_size: int) -> tuple[float, int, int]:
    parser = ResponseParser()
    responses = 0
    body_bytes = 0
    start = time.process_time()
    for offset in range(0, len(stream), chunk_size):
        parser.feed(stream[offset : offset + chunk_size])
        for event in parser.events():
            if type(event) is LiteralData:
                body_bytes += len(event.data)
            elif type(event) is FetchResponse:
                responses += 1
                body = event.attributes.get("BODY[]")
                if isinstance(body, bytes):  # small bodies come whole
                    body_bytes += len(body)
    return time.process_time() - start, responses, body_bytes


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    body_size = int(sys.argv[2]) if len(sys.argv) > 2 else 20 * 1024
    chunk_size = int(sys.argv[3]) if len(sys.argv) > 3 else 64 * 1024
    stream = build_stream(messages, body_size)
    best = None
    for _ in range(3):
        seconds, responses, body_bytes = run(stream, chunk_size)
        assert responses == messages and body_bytes == messages * body_size
        best = seconds if best is None else min(best, seconds)
    assert best is not None
    print(f"{messages} FETCH responses, {body_size} B bodies, {chunk_size} B chunks")
    print(f"stream size     : {len(stream) / 1e6:.1f} MB")
    print(f"CPU time (best) : {best:.3f} s")
    print(f"per response    : {best / messages * 1e6:.1f} us")
    print(f"throughput      : {len(stream) / best / 1e6:.0f} MB/s, {messages / best:,.0f} msg/s")


if __name__ == "__main__":
    main()
