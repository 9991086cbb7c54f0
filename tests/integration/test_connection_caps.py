"""MaxConcurrentMigrations bounds the source's connections, not only its jobs: extra
session pairs (folders copied in parallel) are opened only when the endpoint's budget
leaves room. Counted on the wire, in front of the rig's real Dovecot.

The relay here keeps the *peak* of connections open at once (the rig's FaultProxy
counts those open now, not their peak). It runs one select loop that handles every
end of connection it can see before it accepts the next one, so a connection closed
before another is opened is never counted as overlapping it.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
from pathlib import Path
from types import TracebackType

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_users
from mailferry.service.context import ServiceContext
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.jobs.connection_budget import PAIRS, claim_budget, connections_in_use
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.state.service_store import ServiceStore
from mailferry.state.user_rows import Caps, ClaimRequest
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.service.service_support import (
    MakeUser,
    address,
    filled_user,
    make_context,
    users_csv,
)

CAP = 2
SEND_TIMEOUT = 10.0


class PeakProxy:
    """Relays ``127.0.0.1:self.port`` to ``host:port``; ``peak``: most connections open
    at once since the last ``reset``."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.open = self.peak = self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._peers: dict[socket.socket, socket.socket] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-proxy", daemon=True)

    def __enter__(self) -> PeakProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(SEND_TIMEOUT)
        assert not self._thread.is_alive(), "proxy thread did not stop"
        for sock in [self._listener, *self._peers]:
            sock.close()

    def reset(self) -> None:
        self.peak, self.accepted = self.open, 0

    def _run(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener, *self._peers], [], [], 0.05)
            for sock in readable:  # data and ends of connections first…
                if sock is not self._listener:
                    self._forward(sock)
            if self._listener in readable:  # …then new connections
                self._accept()

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:  # its other end closed in this round
            return
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        del self._peers[sock], self._peers[peer]
        sock.close()
        peer.close()
        self.open -= 1

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except BlockingIOError:
                return
            server = socket.create_connection(self.upstream, timeout=SEND_TIMEOUT)
            client.settimeout(SEND_TIMEOUT)
            self._peers[client], self._peers[server] = server, client
            self.open += 1
            self.accepted += 1
            self.peak = max(self.peak, self.open)


def _endpoint(ctx: ServiceContext, source: DovecotServer, proxy: PeakProxy) -> None:
    limits = EndpointChanges(
        remote_server="127.0.0.1", port=proxy.port, security="Ssl",
        ca_file=str(source.ca_pem_path), max_concurrent_migrations=CAP,
        max_concurrent_incremental_syncs=CAP,
    )  # fmt: skip
    asyncio.run(new_endpoint(ctx, "Counted", limits))


def _batch(
    ctx: ServiceContext, name: str, source: DovecotServer, make_user: MakeUser, n: int
) -> int:
    accounts = [filled_user(source, make_user, seed=700 + n + i, messages=40) for i in range(n)]
    csv = users_csv([(address(a), a.name, a.password) for a in accounts])
    request = batches.BatchRequest(name, "Counted", csv, auto_start=True)
    return batches.new_batch(ctx, request).id


def test_a_cap_of_2_means_2_source_connections(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path, connections_per_mailbox=2)
    db_url = f"sqlite:///{tmp_path / 'mailferry.db'}"  # make_context's database
    with PeakProxy("127.0.0.1", dovecot_source.imaps_port) as proxy:
        _endpoint(ctx, dovecot_source, proxy)

        # One user alone: the budget leaves room, its folders copy over two pairs.
        proxy.reset()
        lone = _batch(ctx, "Lone", dovecot_source, make_user, 1)
        asyncio.run(run_in_process(ctx, {lone}))
        assert batches.get_batch(ctx, "Lone").status == BatchStatus.SYNCED
        assert (proxy.peak, proxy.accepted) == (2, 2)

        # Five users, each of whom could use two pairs: never more than the cap at once.
        proxy.reset()
        many = _batch(ctx, "Many", dovecot_source, make_user, 5)
        asyncio.run(run_in_process(ctx, {many}))
        users = get_users(ctx, batch="Many")
        assert [u.status for u in users] == [UserStatus.SYNCED] * 5, [u.error for u in users]
        assert proxy.peak == CAP, proxy.peak
        assert proxy.accepted >= 5

        # Incremental syncs of both batches at once, by two schedulers sharing the database
        # (as two processes would): still at most the cap.
        proxy.reset()
        other = ServiceContext(ServiceStore.open(db_url), ctx.vault, ctx.settings, ctx.clock)
        for user in [*users, *get_users(ctx, batch="Lone")]:
            ctx.store.update_user(user.id, {"sync_requested": True})

        async def both() -> None:
            await asyncio.gather(
                run_in_process(ctx, {lone, many}), run_in_process(other, {lone, many})
            )

        asyncio.run(both())
        assert proxy.peak <= CAP and proxy.accepted >= 6, (proxy.peak, proxy.accepted)
        assert all(u.status == UserStatus.SYNCED for u in get_users(ctx, batch="Many"))
        other.store.close()
        ctx.store.close()


def test_claims_count_the_pairs_of_this_process_and_the_most_others_may_open(
    tmp_path: Path,
) -> None:
    """The budget arithmetic on a real database: owner A's job holds an extra pair, so
    owner B may not claim what A's claims alone would leave (4 connections, 2 per job)."""
    ctx = make_context(tmp_path, connections_per_mailbox=2)
    store = ctx.store
    endpoint = store.add_endpoint(
        {
            "name": "E", "remote_server": "127.0.0.1", "port": 1, "security": "None",
            "authentication": "Basic", "max_concurrent_migrations": 4,
            "max_concurrent_incremental_syncs": 4, "accept_untrusted_certificates": False,
            "ca_file": None, "created_at": ctx.now(),
        }
    )  # fmt: skip
    csv = users_csv([(f"u{i}@x.example", f"u{i}", "pw") for i in range(6)])
    batch = batches.new_batch(ctx, batches.BatchRequest("B", "E", csv, auto_start=True))
    ids = [u.id for u in get_users(ctx, batch="B")]
    caps = Caps(initial=4, incremental=4, total=4)
    now, until = ctx.now(), ctx.now() + ctx.settings.lease

    def claim(owner: str, wanted: list[int]) -> list[int]:
        requests = [
            ClaimRequest(i, UserStatus.QUEUED, UserStatus.VALIDATING, False, {}) for i in wanted
        ]
        beyond = claim_budget(ctx, endpoint.id, owner)
        return store.claim(endpoint.id, requests, caps, owner, now, until, beyond=beyond)

    assert claim("A", ids[:2]) == ids[:2]
    PAIRS.hold("A", endpoint.id, ids[0], 2)  # A's first job took an extra pair
    try:
        assert claim("B", ids[2:]) == []  # A's 2 jobs may hold 4: nothing left for B
        assert claim("A", ids[2:]) == ids[2:3]  # A knows its own: 2 + 1 + 1 = 4
        assert connections_in_use(PAIRS.held("A", endpoint.id), set(ids[:3]), 0, 2) == 4
        PAIRS.release("A", endpoint.id, ids[0])
        assert claim("A", ids[3:]) == ids[3:4]
    finally:
        PAIRS.release("A", endpoint.id, ids[0])
    assert batch.name == "B"
    store.close()
