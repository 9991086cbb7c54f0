"""fetch_parallel: one mailbox over several connections to the real Dovecot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.connection.parallel import fetch_parallel, split_round_robin
from mailferry.errors import ConnectionLost
from mailferry.rig import DovecotServer
from mailferry.values.connection import Security
from tests.conftest import CorpusAccount
from tests.connection.tcp_proxy import CuttingProxy

T = TypeVar("T")
ITEMS = ("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), 120)

    return asyncio.run(bounded())


async def opened(port: int, corpus: CorpusAccount) -> ImapClient:
    client = await ImapClient.connect(ConnectOptions("127.0.0.1", port, Security.NONE))
    account = corpus.account
    await client.login(Credentials(account.name, account.password))
    await client.select("INBOX", readonly=True)
    return client


def test_split_round_robin_deals_chunks_in_turn() -> None:
    assert split_round_robin(list(range(1, 11)), 3, 2) == [[1, 2, 7, 8], [3, 4, 9, 10], [5, 6]]
    assert split_round_robin([1, 2, 3], 4, 5) == [[1, 2, 3], [], [], []]
    assert split_round_robin([], 2, 5) == [[], []]


@pytest.mark.parametrize("connections", [1, 3])
def test_parallel_fetch_gives_every_message_once_byte_identical(
    connections: int, corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    async def main() -> None:
        port = dovecot_source.imap_port
        clients = [await opened(port, corpus_account) for _ in range(connections)]
        reference = {m.uid: m for m in await clients[0].fetch_all("1:*", ITEMS)}
        uids = sorted(uid for uid in reference if uid is not None)
        seen: list[int] = []
        async for message in fetch_parallel(clients, uids, ITEMS, chunk=17, window=2):
            assert message.uid is not None and message.body is not None
            ref = reference[message.uid]
            assert ref.body is not None and message.body.read() == ref.body.read()
            assert (message.flags, message.internaldate) == (ref.flags, ref.internaldate)
            seen.append(message.uid)
            message.close()
        inbox = [m for m in corpus_account.messages if m.folder == "INBOX"]
        assert sorted(seen) == uids and len(uids) == len(inbox) > 50
        for ref in reference.values():
            ref.close()
        for client in clients:
            await client.logout()

    run(main)


def test_stopping_early_leaves_every_connection_usable(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    async def main() -> None:
        clients = [await opened(dovecot_source.imap_port, corpus_account) for _ in range(2)]
        uids = list(await clients[0].uid_search("ALL"))
        taken = 0
        stream = fetch_parallel(clients, uids, ITEMS, chunk=10, window=2, max_queued=4)
        async for message in stream:
            message.close()
            taken += 1
            if taken == 15:
                break
        await stream.aclose()
        assert taken == 15
        for client in clients:  # nothing of the stopped fetch is left on the wire
            again = await client.fetch_all(uids[:3], ITEMS)
            assert [m.uid for m in again] == uids[:3]
            for message in again:
                message.close()
            await client.logout()

    run(main)


def test_a_lost_connection_is_raised_and_the_others_stop(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    async def main() -> None:
        async with CuttingProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
            healthy = await opened(dovecot_source.imap_port, corpus_account)
            doomed = await opened(proxy.port, corpus_account)
            uids = list(await healthy.uid_search("ALL"))
            proxy.cut_after(100_000)
            received = 0
            with pytest.raises(ConnectionLost):
                async for message in fetch_parallel([healthy, doomed], uids, ITEMS, chunk=10):
                    received += 1
                    message.close()
            assert received < len(uids)
            assert (await healthy.noop()).tagged.status == "OK"
            for client in (healthy, doomed):
                await client.logout()

    run(main)
