"""The connection layer against the rig's real Dovecot: round trips, TLS, logins, faults."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from imapclient import IMAPClient

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.errors import ConnectionLost, ServerBye, TlsError
from mailferry.imap.commands import AppendMessage, batch_for_multiappend
from mailferry.rig import DovecotServer, RigAccount
from mailferry.values.connection import Security
from tests.conftest import MASTER_USER, CorpusAccount
from tests.connection.tcp_proxy import CuttingProxy

T = TypeVar("T")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), 120)

    return asyncio.run(bounded())


def plain(server: DovecotServer, **kw: Any) -> ConnectOptions:
    return ConnectOptions("127.0.0.1", server.imap_port, Security.NONE, **kw)


async def logged_in(server: DovecotServer, account: RigAccount, **kw: Any) -> ImapClient:
    client = await ImapClient.connect(plain(server, **kw))
    await client.login(Credentials(account.name, account.password))
    return client


def keyword_flags(flags: tuple[str, ...]) -> set[str]:
    return {f for f in flags if f.lower() != "\\recent"}


@pytest.mark.parametrize("mode", ["synchronising", "literal+", "multiappend"])
def test_append_then_fetch_is_byte_identical_with_flags_and_dates(
    mode: str, corpus_account: CorpusAccount, make_user: Callable[..., RigAccount],
    dovecot_target: DovecotServer,
) -> None:  # fmt: skip
    account = make_user("roundtrip", servers=(dovecot_target,))
    messages = corpus_account.messages

    async def main() -> None:
        client = await logged_in(dovecot_target, account)
        if mode == "synchronising":  # pretend LITERAL+ is absent: every literal waits for "+"
            client.connection.set_capabilities(client.capabilities - {"LITERAL+", "LITERAL-"})
        await client.create("Round Trip")
        items = [AppendMessage(m.data, m.flags, m.internaldate) for m in messages]
        batches = (
            batch_for_multiappend(items, max_count=25)
            if mode == "multiappend"
            else ([item] for item in items)
        )
        uids: list[int] = []
        async for _, result in client.append_batches("Round Trip", batches, window=4):
            assert not isinstance(result, Exception), result
            uids.extend(result.uids)
        assert len(uids) == len(messages)
        await client.select("Round Trip", readonly=True)
        fetched = {m.uid: m for m in await client.fetch_all(uids)}
        for uid, original in zip(uids, messages, strict=True):
            got = fetched[uid]
            assert got.body is not None
            assert got.body.read() == original.imap_data, original.kind
            assert keyword_flags(got.flags) == set(original.flags)
            assert got.internaldate == original.internaldate
            got.close()
        await client.logout()

    run(main)


def test_fetch_agrees_with_imapclient(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    account = corpus_account.account
    reference = IMAPClient("127.0.0.1", port=dovecot_source.imap_port, ssl=False)
    reference.login(account.name, account.password)
    ref_folders = sorted(
        (name, delim, tuple(flags)) for flags, delim, name in reference.list_folders()
    )
    ref_status = {name: reference.folder_status(name, ["MESSAGES", "UIDNEXT", "UIDVALIDITY"])
                  for name, _, _ in ref_folders}  # fmt: skip
    reference.select_folder("INBOX", readonly=True)
    ref_fetch = reference.fetch(  # keyed by UID (imapclient's default use_uid)
        reference.search("ALL"), ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]"]
    )
    reference.logout()

    async def main() -> None:
        client = await logged_in(dovecot_source, account)
        folders = sorted(
            (f.name, f.delimiter.encode() if f.delimiter else None, f.attributes)
            for f in await client.list_folders()
        )
        assert [f[0] for f in folders] == [f[0] for f in ref_folders]
        for ours, ref in zip(folders, ref_folders, strict=True):
            assert ours[1] == ref[1]
            assert {a.lower() for a in ours[2]} >= {a.decode().lower() for a in ref[2]} - {
                "\\haschildren", "\\hasnochildren"
            }  # fmt: skip
        for name, ref in ref_status.items():
            status = await client.status(name, ("MESSAGES", "UIDNEXT", "UIDVALIDITY"))
            assert status == {k.decode(): v for k, v in ref.items()}
        await client.select("INBOX", readonly=True)
        fetched = await client.fetch_all("1:*", ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE",
                                                  "BODY.PEEK[]"))  # fmt: skip
        assert len(fetched) == len(ref_fetch)
        for message in fetched:
            assert message.uid is not None
            ref = ref_fetch[message.uid]
            assert message.seq == ref[b"SEQ"]
            assert message.flags == tuple(f.decode() for f in ref[b"FLAGS"])
            assert message.size == ref[b"RFC822.SIZE"]
            assert message.body is not None and message.body.read() == ref[b"BODY[]"]
            # imapclient drops the zone (naive local time); compare the wall clock.
            assert message.internaldate is not None
            assert (
                message.internaldate.replace(tzinfo=None)
                == ref[b"INTERNALDATE"].replace(tzinfo=None)
                or message.internaldate.astimezone().replace(tzinfo=None) == ref[b"INTERNALDATE"]
            )
        await client.logout()

    run(main)


@pytest.mark.parametrize("security", [Security.TLS, Security.SSL])
def test_tls_works_with_the_ca_and_fails_cleanly_without(
    security: Security, dovecot_source: DovecotServer
) -> None:
    port = dovecot_source.imap_port if security is Security.TLS else dovecot_source.imaps_port

    async def main() -> None:
        trusted = ConnectOptions("127.0.0.1", port, security, ca_file=dovecot_source.ca_pem_path)
        client = await ImapClient.connect(trusted)
        tls = client.connection.transport.tls
        assert tls is not None and tls.protocol.startswith("TLSv1.") and tls.verified
        await client.login(Credentials("alice", "alice-secret"))
        await client.logout()
        with pytest.raises(TlsError, match="certificate verify failed"):
            await ImapClient.connect(ConnectOptions("127.0.0.1", port, security))

    run(main)


def test_master_user_and_plain_authzid_logins(dovecot_source: DovecotServer) -> None:
    async def main() -> None:
        for credentials in (
            Credentials(f"bob*{MASTER_USER.name}", MASTER_USER.password),
            Credentials(MASTER_USER.name, MASTER_USER.password, authzid="bob"),
        ):
            client = await ImapClient.connect(plain(dovecot_source))
            await client.login(credentials)
            namespace = await client.namespace()
            assert namespace is not None and namespace.personal
            assert "INBOX" in [f.name for f in await client.list_folders()]
            await client.logout()

    run(main)


def test_connection_cut_mid_fetch_raises_connection_lost(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    account = corpus_account.account

    async def main() -> None:
        async with CuttingProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
            client = await ImapClient.connect(ConnectOptions("127.0.0.1", proxy.port,
                                                             Security.NONE))  # fmt: skip
            await client.login(Credentials(account.name, account.password))
            await client.select("INBOX", readonly=True)
            proxy.cut_after(200_000)  # downstream bytes from now on
            received = 0
            with pytest.raises(ConnectionLost):
                async for message in client.fetch_messages("1:*"):
                    received += 1
                    message.close()
            assert received < len(corpus_account.messages)
            await client.logout()

    run(main)


def test_unsolicited_updates_during_a_fetch(
    make_user: Callable[..., RigAccount], dovecot_target: DovecotServer
) -> None:
    account = make_user("unsolicited", servers=(dovecot_target,))
    date = dt.datetime(2021, 5, 1, 12, 0, tzinfo=dt.UTC)

    async def main() -> None:
        writer = await logged_in(dovecot_target, account)
        batch = [AppendMessage(b"Subject: %d\r\n\r\nbody\r\n" % i, (), date) for i in range(40)]
        async for _ in writer.append_batches("INBOX", [batch]):
            pass
        reader = await logged_in(dovecot_target, account)
        await reader.select("INBOX")  # read-write: the server may tell us about changes
        await writer.select("INBOX")
        await writer.uid_store("1:5", "+", ["\\Flagged"])
        async for _ in writer.append_batches("INBOX", [[AppendMessage(b"Subject: new\r\n\r\nx\r\n",
                                                                      (), date)]]):  # fmt: skip
            pass
        got = [m async for m in reader.fetch_messages(range(1, 41), chunk=10, window=4)]
        assert sorted(m.uid for m in got if m.uid) == list(range(1, 41))
        assert all(m.body is not None for m in got)
        noop = await reader.noop()
        updates = [*reader.unsolicited, *noop.untagged]
        flagged = [u for u in updates if getattr(u, "flags", None) and "\\Flagged" in u.flags]
        counts = Counter(type(u).__name__ for u in updates)
        assert flagged or counts["Exists"], counts
        for client in (reader, writer):
            await client.logout()

    run(main)


@pytest.mark.parametrize(
    ("security", "compress"),
    [(Security.NONE, True), (Security.SSL, False), (Security.TLS, False), (Security.SSL, True)],
)
def test_tls_and_compress_give_the_same_messages(
    security: Security, compress: bool, corpus_account: CorpusAccount,
    dovecot_source: DovecotServer,
) -> None:  # fmt: skip
    tls_port = dovecot_source.imaps_port if security is Security.SSL else dovecot_source.imap_port
    options = ConnectOptions(
        "127.0.0.1",
        tls_port,
        security,
        ca_file=dovecot_source.ca_pem_path,
        read_chunk=16 * 1024,  # small buffers: bodies cross many receives, some stream
        spool_threshold=20 * 1024,
    )

    async def digests(client: ImapClient) -> list[tuple[int | None, str, bool]]:
        await client.select("INBOX", readonly=True)
        messages = await client.fetch_all("1:*")
        found = [(m.uid, m.body.sha256(), m.body.spooled) for m in messages if m.body]
        await client.logout()
        return sorted(found)

    async def main() -> None:
        account = corpus_account.account
        client = await ImapClient.connect(options)
        await client.login(Credentials(account.name, account.password))
        if compress:
            assert await client.compress()
        assert client.connection.transport.compressed == compress
        assert (client.connection.transport.tls is not None) == (security is not Security.NONE)
        got = await digests(client)
        expected = await digests(await logged_in(dovecot_source, account))
        assert [d[:2] for d in got] == [d[:2] for d in expected] and got
        assert {d[2] for d in got} == {True, False}  # large bodies spooled, small in memory
        assert not any(d[2] for d in expected)

    run(main)


def test_kicked_session_reports_server_bye(
    make_user: Callable[..., RigAccount], dovecot_source: DovecotServer
) -> None:
    account = make_user("kicked", servers=(dovecot_source,))

    async def main() -> None:
        client = await logged_in(dovecot_source, account)
        await client.select("INBOX")
        await asyncio.to_thread(dovecot_source.doveadm, "kick", account.name)
        with pytest.raises((ServerBye, ConnectionLost)) as caught:
            for _ in range(50):  # bounded: the kick lands within a few NOOPs
                await client.noop()
                await asyncio.sleep(0.1)
        assert caught.value.transient
        await client.logout()

    run(main)
