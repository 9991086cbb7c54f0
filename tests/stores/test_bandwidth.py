"""The bandwidth cap: the token bucket on a fake clock (no real time passes), and a
capped copy into the real Dovecot target that takes at least the time the cap implies
and arrives byte for byte."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest

from mailferry.connection.auth import Credentials
from mailferry.connection.body import MessageBody
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.rig.dovecot import DovecotServer
from mailferry.rig.maildir import RigMessage as Message
from mailferry.stores.bandwidth import Bandwidth, PacedTarget, TokenBucket, _parts, paced
from mailferry.stores.base import AppendItem
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.values.sync_options import SyncOptions
from tests.engine.support import open_state
from tests.stores.conftest import connect_options, new_user

KiB = 1024


class FakeClock:
    """Time that moves only when the bucket sleeps (a fake: the test needs no waiting)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_lets_a_burst_through_then_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(1000, clock=clock, sleep=clock.sleep)

    async def main() -> None:
        await bucket.take(1000)  # the first second's worth at once
        assert clock.slept == []
        await bucket.take(500)
        assert clock.slept == [pytest.approx(0.5)]
        await bucket.take(2000)  # more than a burst: waits for all of it
        assert clock.slept[-1] == pytest.approx(2.0)
        clock.now += 10  # idle: refills to one burst, not to ten seconds' worth
        await bucket.take(1000)
        await bucket.take(1000)
        assert clock.slept[-1] == pytest.approx(1.0)

    asyncio.run(main())
    assert sum(clock.slept) == pytest.approx(3.5)


def test_concurrent_takers_queue_and_the_average_keeps_to_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(2000, clock=clock, sleep=clock.sleep)
    waits = [bucket.delay(1000) for _ in range(6)]  # 6000 bytes reserved at one instant
    assert waits == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])


def test_parts_keep_order_and_a_large_item_alone():
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    items = [AppendItem(MessageBody.from_bytes(b"x" * n), (), now) for n in (3, 3, 9, 1, 1, 1)]
    parts = _parts(items, 6)
    assert [[i.body.size for i in part] for part in parts] == [[3, 3], [9], [1, 1, 1]]
    assert [i for part in parts for i in part] == items


def test_no_cap_returns_the_target_itself_and_caps_share_buckets():
    class Target:
        delimiter, case_insensitive, personal_prefix = "/", False, ""

    plain = Target()
    assert paced(plain, None, "imap://h:1", "a@x") is plain  # type: ignore[arg-type]
    assert paced(plain, Bandwidth(), "imap://h:1", "a@x") is plain  # type: ignore[arg-type]
    cap = Bandwidth(per_mailbox=4096, per_endpoint=8192)
    one = paced(plain, cap, "imap://h:1", "a@x")  # type: ignore[arg-type]
    two = paced(plain, cap, "imap://h:1", "a@x")  # type: ignore[arg-type]
    other = paced(plain, cap, "imap://h:1", "b@x")  # type: ignore[arg-type]
    assert isinstance(one, PacedTarget) and isinstance(two, PacedTarget)
    assert isinstance(other, PacedTarget)
    assert one.buckets[0] is two.buckets[0] and one.buckets[1] is two.buckets[1]
    assert other.buckets[0] is not one.buckets[0]  # per mailbox
    assert other.buckets[1] is one.buckets[1]  # per endpoint
    with pytest.raises(ValueError, match="per_mailbox"):
        Bandwidth(per_mailbox=10)


def _message(number: int, size: int) -> Message:
    head = f"From: a@example.com\r\nSubject: capped {number}\r\nMessage-ID: <cap{number}@x>\r\n\r\n"
    line = (f"{number:04d} " + "payload " * 9 + "\r\n").encode()
    body = (line * (size // len(line) + 1))[: size - len(head)]
    when = dt.datetime(2024, 3, 1, 12, number, tzinfo=dt.UTC)
    return Message("INBOX", head.encode() + body, ("\\Seen",), when)


def test_a_capped_copy_to_dovecot_takes_the_time_of_its_bytes_and_is_exact(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, tmp_path: Path
):
    address, password = new_user(dovecot_source, "capped")
    dovecot_target.add_user(address, password)
    messages = [_message(n, 128 * KiB) for n in range(8)]  # 1 MiB
    dovecot_source.write_maildir(address, messages)
    total = sum(len(m.data) for m in messages)
    rate = 256 * KiB
    expected = (total - rate) / rate  # one burst free, then the rate: 3 s

    async def main() -> tuple[float, set[bytes]]:
        credentials = Credentials(address, password)
        source = await open_imap_source(connect_options(dovecot_source), credentials)
        imap = await open_imap_target(connect_options(dovecot_target), credentials)
        target = paced(imap, Bandwidth(per_mailbox=rate), "imap://capped-test", address)
        try:
            with open_state(tmp_path / "state.db") as state:
                started = time.monotonic()
                result = await sync_mailbox(
                    source, target, state, "k", folder_options=FolderOptions(),
                    options=SyncOptions(),
                )  # fmt: skip
                elapsed = time.monotonic() - started
            assert result.errors == {} and result.copied == len(messages)
            _, metas = await imap.list_messages("INBOX")
            bodies = set()
            async for fetched in imap.fetch("INBOX", [m.uid for m in metas]):
                with fetched.body:
                    bodies.add(fetched.body.read())
            return elapsed, bodies
        finally:
            await source.close()
            await target.close()

    elapsed, bodies = asyncio.run(main())
    assert bodies == {m.data for m in messages}
    assert elapsed >= expected * 0.98
    assert elapsed < expected + 5  # bounded: the cap, not something else, set the pace
