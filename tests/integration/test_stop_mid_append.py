"""A stop (cancellation) while MULTIAPPENDs are on the wire to the real Dovecot target,
then the same sync again: every message ends up on the target exactly once.

Bytes we have sent are not ours any more: a proxy, a load balancer or a network
buffer may hand them to the server after we let go, and the server then stores
the message. Two defences, one test each:

- a stop lets the batches in flight land (``SyncOptions.stop_drain``) and records
  their outcome, so the next run has nothing in doubt;
- when they are cut off instead (``stop_drain=0`` here; past the bound in real life)
  and their bytes land *after* the next run looked for them, the next run's second
  copies are found and removed (``engine/reconcile.remove_late_copies``).

The target is reached through ``SlowProxy``; ``held`` keeps the bytes in the proxy
until the test lets them go, which makes "late" happen on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from mailferry.connection.auth import Credentials
from mailferry.connection.options import ConnectOptions
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.rig.dovecot import DovecotServer
from mailferry.rig.maildir import RigMessage as Message
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.values.connection import Security
from mailferry.values.progress import FolderStarted, MessagesCopied, ProgressEvent
from mailferry.values.results import MailboxResult
from mailferry.values.sync_options import SyncOptions
from tests.engine.support import open_state
from tests.integration.mailview import Login, hashes, read_view
from tests.integration.slow_proxy import SlowProxy
from tests.stores.conftest import connect_options, new_user

MESSAGES = 600
RATE = 120_000  # bytes/s to the target through the proxy: the copy takes ~6 s
DEADLINE = 60.0


def corpus() -> list[Message]:
    start = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
    return [
        Message(
            "INBOX",
            (
                f"From: a@example.com\r\nSubject: stop {n}\r\nMessage-ID: <stop{n}@x>\r\n\r\n"
                + f"line {n} of the body\r\n" * 50
            ).encode(),
            ("\\Seen",) if n % 3 else (),
            start + dt.timedelta(minutes=n),
        )
        for n in range(MESSAGES)
    ]


def via(proxy: SlowProxy, server: DovecotServer) -> ConnectOptions:
    """STARTTLS through the proxy to the target's plain port."""
    return ConnectOptions(
        "127.0.0.1", proxy.port, security=Security.TLS, ca_file=server.ca_pem_path,
        connect_timeout=10, command_timeout=30,
    )  # fmt: skip


def pair_states(state: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute("SELECT state, count(*) FROM message_pairs GROUP BY state")
        return dict(rows)


def target_count(server: DovecotServer, login: Login) -> int:
    return sum(hashes(read_view(server, login)).values())


class Servers:
    """The rig's source and target, as one argument."""

    def __init__(self, source: DovecotServer, target: DovecotServer) -> None:
        self.source, self.target = source, target

    def new_mailbox(self, prefix: str) -> tuple[Credentials, Login]:
        """A source user holding ``corpus()`` and its empty target mailbox."""
        address, password = new_user(self.source, prefix)
        self.target.add_user(address, password)
        self.source.write_maildir(address, corpus())
        return Credentials(address, password), Login(address, password)


async def sync(
    target_options: ConnectOptions,
    servers: Servers,
    credentials: Credentials,
    state: Path,
    options: SyncOptions,
    progress: Callable[[ProgressEvent], None],
) -> MailboxResult:
    source = await open_imap_source(connect_options(servers.source), credentials)
    target = await open_imap_target(target_options, credentials)
    try:
        with open_state(state) as store:
            return await sync_mailbox(
                source, target, store, "stop-user", folder_options=FolderOptions(),
                options=options, progress=progress,
            )  # fmt: skip
    finally:
        for store_ in (source, target):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(store_.close(), 15)


async def stop_mid_copy(
    proxy: SlowProxy,
    servers: Servers,
    credentials: Credentials,
    state: Path,
    options: SyncOptions,
    *,
    hold_after: int,
) -> int:
    """Start the sync through the proxy; once ``hold_after`` messages are recorded as
    copied, hold the proxy (when ``options.stop_drain`` is 0) and cancel the sync.
    Returns the messages recorded as copied when the cancellation ended."""
    copied = 0

    def progress(event: ProgressEvent) -> None:
        nonlocal copied
        if isinstance(event, MessagesCopied):
            copied += event.count

    task = asyncio.ensure_future(
        sync(via(proxy, servers.target), servers, credentials, state, options, progress)
    )
    deadline = time.monotonic() + DEADLINE
    while copied < hold_after:
        assert not task.done(), "the sync ended before the stop"
        assert time.monotonic() < deadline, "the copy never got going"
        await asyncio.sleep(0.02)
    if options.stop_drain == 0:
        proxy.held = True  # what is sent from now on waits in the proxy
        await asyncio.sleep(0.3)  # the next batch's bytes leave us
    task.cancel()
    try:
        await asyncio.wait_for(task, DEADLINE)
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("the sync finished before it was stopped")
    return copied


def test_a_stop_lets_the_appends_in_flight_land_and_the_resume_is_exact(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, tmp_path: Path
) -> None:
    servers = Servers(dovecot_source, dovecot_target)
    credentials, login = servers.new_mailbox("stop-drain")
    state = tmp_path / "state.db"

    with SlowProxy(dovecot_target.host, dovecot_target.imap_port, rate=RATE) as proxy:
        copied = asyncio.run(
            stop_mid_copy(proxy, servers, credentials, state, SyncOptions(), hold_after=100)
        )
    states = pair_states(state)
    assert states.get("pending", 0) == 0, states  # nothing left in doubt
    assert 100 <= copied == states["done"] < MESSAGES, (copied, states)
    assert target_count(dovecot_target, login) == states["done"]

    result = asyncio.run(
        sync(connect_options(dovecot_target), servers, credentials, state, SyncOptions(),
             lambda _e: None)
    )  # fmt: skip
    assert result.folders[0].copied == MESSAGES - copied
    assert result.folders[0].late_copies_removed == 0
    on_target = hashes(read_view(dovecot_target, login))
    assert on_target == hashes(read_view(dovecot_source, login))
    assert max(on_target.values()) == 1 and sum(on_target.values()) == MESSAGES


def test_appends_cut_off_by_a_stop_that_land_late_are_not_left_twice(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, tmp_path: Path
) -> None:
    servers = Servers(dovecot_source, dovecot_target)
    credentials, login = servers.new_mailbox("stop-late")
    state = tmp_path / "state.db"
    cut_off = SyncOptions(stop_drain=0)

    with SlowProxy(dovecot_target.host, dovecot_target.imap_port, rate=RATE) as proxy:
        asyncio.run(stop_mid_copy(proxy, servers, credentials, state, cut_off, hold_after=100))
        before = pair_states(state)
        assert before.get("pending", 0) > 0, before  # cut off: in doubt
        stored_then = target_count(dovecot_target, login)
        landed: list[int] = []

        def release_the_old_bytes(event: ProgressEvent) -> None:
            """Right after the resumed run looked for its pending pairs (and did not
            find them), the held bytes reach the server: late."""
            if isinstance(event, FolderStarted) and not landed:
                proxy.held = False
                landed.append(wait_for_landing(proxy, dovecot_target, login, stored_then))

        result = asyncio.run(
            sync(connect_options(dovecot_target), servers, credentials, state, SyncOptions(),
                 release_the_old_bytes)
        )  # fmt: skip

    [late] = landed
    assert late > 0, "nothing landed late: the test proved nothing"
    assert result.folders[0].late_copies_removed == late
    assert result.folders[0].error is None
    on_target = hashes(read_view(dovecot_target, login))
    assert on_target == hashes(read_view(dovecot_source, login))
    assert max(on_target.values()) == 1 and sum(on_target.values()) == MESSAGES
    assert pair_states(state) == {"done": MESSAGES}


def wait_for_landing(proxy: SlowProxy, server: DovecotServer, login: Login, before: int) -> int:
    """Block until the old connection is gone and the target's count settles; returns
    how many messages it gained (the first run's late APPENDs)."""
    deadline = time.monotonic() + DEADLINE
    while proxy.connections:
        assert time.monotonic() < deadline, "the old connection never ended"
        time.sleep(0.05)
    counts = [target_count(server, login)]
    while len(counts) < 3 or counts[-1] != counts[-3]:
        assert time.monotonic() < deadline, "the target never settled"
        time.sleep(0.2)
        counts.append(target_count(server, login))
    return counts[-1] - before
