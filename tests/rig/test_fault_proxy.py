"""The fault proxy in front of the rig's real Dovecot: each fault as a client sees it.

Our own client (and imapclient) talk to Dovecot through the proxy; a raw socket
reads the exact bytes where the point is what the proxy sent (a lying literal size).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import imapclient
import pytest
from hypothesis import given
from hypothesis import strategies as st
from imapclient import IMAPClient

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.core import suggested_backoff
from mailferry.connection.options import ConnectOptions
from mailferry.errors import ConnectionLost, RemoteProtocolError, ServerBye, Throttled
from mailferry.imap.commands import AppendMessage, batch_for_multiappend
from mailferry.rig import DovecotServer, RigAccount
from mailferry.rig.fault_proxy import FaultProxy
from mailferry.rig.imap_stream import StreamScanner
from mailferry.values.connection import Security
from tests.conftest import CorpusAccount

T = TypeVar("T")
MakeUser = Callable[..., RigAccount]
DATE = dt.datetime(2022, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), 60)

    return asyncio.run(bounded())


async def connect(proxy: FaultProxy, account: RigAccount, **kw: Any) -> ImapClient:
    options = ConnectOptions("127.0.0.1", proxy.port, Security.NONE, command_timeout=5, **kw)
    client = await ImapClient.connect(options)
    await client.login(Credentials(account.name, account.password))
    return client


def direct(server: DovecotServer, account: RigAccount) -> IMAPClient:
    client = IMAPClient("127.0.0.1", server.imap_port, ssl=False, timeout=10)
    client.login(account.name, account.password)
    return client


def raw_fetch(proxy: FaultProxy, account: RigAccount, uids: list[int]) -> list[tuple[int, bytes]]:
    """(announced size, the bytes that follow up to the closing ``)``) per message, read
    by the real framing: what the proxy put on the wire, whatever size it announced."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        stream = sock.makefile("rwb")
        stream.readline()
        for command in (f'a1 LOGIN "{account.name}" "{account.password}"', "a2 EXAMINE INBOX"):
            stream.write(command.encode() + b"\r\n")
            stream.flush()
            while not stream.readline().startswith(command[:2].encode() + b" "):
                pass
        found = []
        for uid in uids:
            stream.write(f"a3 UID FETCH {uid} BODY.PEEK[]\r\n".encode())
            stream.flush()
            data = line = b""
            while not line.startswith(b"a3 ") and len(data) < 10**6:
                line = stream.readline()
                data += line
            match = re.search(rb"BODY\[\] \{(\d+)\}\r\n", data)
            assert match is not None, data[:200]
            body = data[match.end() : data.rindex(b")\r\na3 OK ")]
            found.append((int(match.group(1)), body))
        return found


def inbox_bodies(server: DovecotServer, account: RigAccount, uids: list[int]) -> list[bytes]:
    """The messages as Dovecot serves them, without the proxy."""
    reader = direct(server, account)
    reader.select_folder("INBOX", readonly=True)
    stored = reader.fetch(uids, ["BODY.PEEK[]"])
    reader.logout()
    return [stored[uid][b"BODY[]"] for uid in uids]


def test_append_literals_pass_intact_and_commands_are_counted(
    corpus_account: CorpusAccount, make_user: MakeUser, dovecot_target: DovecotServer
) -> None:
    """Synchronizing {N} (after "+"), LITERAL+ {N+} and MULTIAPPEND all arrive byte-exact."""
    account = make_user("fpappend", servers=(dovecot_target,))
    messages = corpus_account.messages[:12]

    async def main(proxy: FaultProxy) -> None:
        client = await connect(proxy, account)
        for folder, mode in (("Sync", "sync"), ("Plus", "plus"), ("Multi", "multi")):
            if mode == "sync":
                client.connection.set_capabilities(client.capabilities - {"LITERAL+", "LITERAL-"})
            else:
                client.connection.set_capabilities(client.capabilities | {"LITERAL+"})
            await client.create(folder)
            items = [AppendMessage(m.data, m.flags, m.internaldate) for m in messages]
            batches = (
                batch_for_multiappend(items, max_count=5)
                if mode == "multi"
                else [[i] for i in items]
            )
            async for _, result in client.append_batches(folder, batches, window=3):
                assert not isinstance(result, Exception), result
        await client.logout()

    with FaultProxy("127.0.0.1", dovecot_target.imap_port) as proxy:
        run(lambda: main(proxy))
        counts = proxy.wait_until(lambda c: c.open == 0)
    assert counts.accepted == 1
    assert counts.command("LOGIN") == 1 and counts.command("CREATE") == 3
    assert counts.command("APPEND") == 12 + 12 + 3  # MULTIAPPEND: 5 + 5 + 2 in 3 commands
    assert dict(counts.faults) == {}
    reader = direct(dovecot_target, account)
    for folder in ("Sync", "Plus", "Multi"):
        reader.select_folder(folder, readonly=True)
        stored = reader.fetch(reader.search(), ["BODY.PEEK[]"])
        bodies = [stored[uid][b"BODY[]"] for uid in sorted(stored)]
        assert bodies == [m.imap_data for m in messages], folder
    reader.logout()


def test_inflated_literal_claims_more_bytes_than_it_sends(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    account = corpus_account.account
    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        proxy.inflate_literals(7, every=2, limit=2)  # the 2nd and the 4th body literal
        found = raw_fetch(proxy, account, [1, 2, 3, 4, 5])
        assert proxy.counts().fault("inflate") == 2
    originals = inbox_bodies(dovecot_source, account, [1, 2, 3, 4, 5])
    for number, ((announced, body), original) in enumerate(zip(found, originals, strict=True), 1):
        assert body == original, number  # not one byte added or changed
        assert announced == len(original) + (7 if number in (2, 4) else 0), number


def test_our_client_reads_past_an_inflated_or_short_of_a_deflated_literal(
    corpus_account: CorpusAccount,
    dovecot_source: DovecotServer,
) -> None:
    account = corpus_account.account

    async def fetch(proxy: FaultProxy, arm: Callable[[], None]) -> None:
        client = await connect(proxy, account)
        await client.select("INBOX", readonly=True)
        arm()
        with pytest.raises(RemoteProtocolError):
            await client.fetch_all([1, 2, 3])
        await client.connection.close()

    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        run(lambda: fetch(proxy, lambda: proxy.inflate_literals(5, limit=1)))
        run(lambda: fetch(proxy, lambda: proxy.deflate_literals(5, limit=1)))
        counts = proxy.counts()
    assert counts.fault("inflate") == 1 and counts.fault("deflate") == 1


def test_deflated_literal_announces_fewer_bytes(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        proxy.deflate_literals(100)
        ((announced, body),) = raw_fetch(proxy, corpus_account.account, [3])
    assert body == inbox_bodies(dovecot_source, corpus_account.account, [3])[0]
    assert announced == len(body) - 100


def test_throttled_commands_are_answered_by_the_proxy_then_forwarded_again(
    make_user: MakeUser, dovecot_target: DovecotServer
) -> None:
    account = make_user("fpthrottle", servers=(dovecot_target,))
    message = AppendMessage(b"Subject: one\r\n\r\nbody\r\n", (), DATE)

    async def main(proxy: FaultProxy) -> None:
        client = await connect(proxy, account)
        proxy.throttle("select", 2)
        for _ in range(2):
            with pytest.raises(Throttled) as caught:
                await client.select("INBOX")
            assert caught.value.code == "THROTTLED"
            assert caught.value.backoff_seconds == 0.001
        await client.select("INBOX")
        for literal_plus in (False, True):  # {N} refused before it is sent; {N+} swallowed
            caps = client.capabilities - {"LITERAL+", "LITERAL-"}
            client.connection.set_capabilities(caps | ({"LITERAL+"} if literal_plus else set()))
            proxy.throttle("APPEND", 1)
            with pytest.raises(Throttled):
                await client.append("INBOX", message)
            await client.append("INBOX", message)  # the connection is still in step
        await client.noop()
        await client.logout()

    with FaultProxy("127.0.0.1", dovecot_target.imap_port) as proxy:
        run(lambda: main(proxy))
        counts = proxy.counts()
    assert counts.fault("throttle") == 4
    assert counts.command("SELECT") == 3 and counts.command("APPEND") == 4
    reader = direct(dovecot_target, account)
    assert reader.select_folder("INBOX", readonly=True)[b"EXISTS"] == 2  # no throttled one
    reader.logout()


def test_imapclient_sees_a_throttled_login_in_microsoft_words(
    dovecot_source: DovecotServer,
) -> None:
    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        proxy.throttle("LOGIN", 1, text="NO Request is throttled. Suggested Backoff Time: 5 ms")
        client = IMAPClient("127.0.0.1", proxy.port, ssl=False, timeout=10)
        with pytest.raises(imapclient.exceptions.LoginError, match="Suggested Backoff Time: 5"):
            client.login("alice", "alice-secret")
        client.login("alice", "alice-secret")
        client.logout()
        assert proxy.counts().command("LOGIN") == 2


def test_bye_after_commands_closes_the_connection(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    account = corpus_account.account

    async def main(proxy: FaultProxy) -> None:
        client = await connect(proxy, account)
        proxy.bye_after_commands(2)  # the SELECT passes; the FETCH gets the BYE
        await client.select("INBOX", readonly=True)
        with pytest.raises(ServerBye) as caught:
            await client.fetch_all([1, 2])
        assert suggested_backoff(caught.value.text) == 0.001
        await client.connection.close()

    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        run(lambda: main(proxy))
        counts = proxy.wait_until(lambda c: c.open == 0)
    assert counts.fault("bye") == 1 and counts.command("UID FETCH") == 1


def test_bye_for_one_command_name_only(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        proxy.bye_after_commands(1, "* BYE Connection closed", command="UID FETCH")
        client = IMAPClient("127.0.0.1", proxy.port, ssl=False, timeout=10)
        client.login(corpus_account.account.name, corpus_account.account.password)
        client.select_folder("INBOX", readonly=True)
        client.noop()
        with pytest.raises((imapclient.exceptions.IMAPClientAbortError, OSError)):
            client.fetch([1], ["UID"])
        counts = proxy.wait_until(lambda c: c.open == 0)
    assert counts.fault("bye") == 1 and counts.command("NOOP") == 1


def test_cut_after_drops_the_connection_mid_fetch(
    corpus_account: CorpusAccount, dovecot_source: DovecotServer
) -> None:
    account = corpus_account.account

    async def main(proxy: FaultProxy) -> int:
        client = await connect(proxy, account)
        await client.select("INBOX", readonly=True)
        proxy.cut_after(50_000)
        received = 0
        with pytest.raises(ConnectionLost):
            async for message in client.fetch_messages("1:*"):
                received += 1
                message.close()
        await client.connection.close()
        return received

    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        received = run(lambda: main(proxy))
        counts = proxy.wait_until(lambda c: c.open == 0)
    assert 0 < received < len(corpus_account.messages)
    assert counts.fault("cut") == 1


def test_sasl_lines_and_idle_done_are_no_commands(dovecot_source: DovecotServer) -> None:
    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        client = IMAPClient("127.0.0.1", proxy.port, ssl=False, timeout=10)
        client.plain_login("bob", "bob-secret")
        client.select_folder("INBOX")
        client.idle()
        client.idle_check(timeout=0.1)
        client.idle_done()
        client.noop()
        client.logout()
        counts = proxy.wait_until(lambda c: c.open == 0)
    assert set(counts.commands) <= {"CAPABILITY", "AUTHENTICATE", "SELECT", "IDLE", "NOOP",
                                    "LOGOUT", "ENABLE", "ID"}  # fmt: skip
    assert counts.command("AUTHENTICATE") == 1 and counts.command("IDLE") == 1


def test_starttls_passes_through_opaque(dovecot_source: DovecotServer) -> None:
    async def main(proxy: FaultProxy) -> None:
        options = ConnectOptions(
            "127.0.0.1", proxy.port, Security.TLS, ca_file=dovecot_source.ca_pem_path
        )
        client = await ImapClient.connect(options)
        await client.login(Credentials("alice", "alice-secret"))
        await client.select("INBOX", readonly=True)
        await client.logout()

    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        proxy.throttle("SELECT", 1)  # inside TLS the proxy can't see it: not fired
        run(lambda: main(proxy))
        counts = proxy.counts()
    assert counts.command("STARTTLS") == 1 and "LOGIN" not in counts.commands
    assert counts.fault("throttle") == 0


def test_close_stops_everything_and_drops_open_connections(
    dovecot_source: DovecotServer,
) -> None:
    proxy = FaultProxy("127.0.0.1", dovecot_source.imap_port).start()
    client = IMAPClient("127.0.0.1", proxy.port, ssl=False, timeout=10)
    client.login("alice", "alice-secret")
    assert proxy.counts().open == 1
    proxy.close()
    with pytest.raises((imapclient.exceptions.IMAPClientAbortError, OSError)):
        client.noop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
    proxy.close()  # twice is fine


@given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_scanner_frames_alike_however_the_bytes_arrive(cuts: list[int]) -> None:
    """A pure check of the framing (no server needed): literals hold line breaks and
    braces, a {0} literal, a LITERAL+ one; the units come out the same in any chunking."""
    stream = (
        b"a1 APPEND INBOX (\\Seen) {12}\r\nline\r\n{3}\r\nab\r\n"
        b"a2 APPEND INBOX {0+}\r\n\r\n"
        b"* 1 FETCH (BODY[] {5}\r\n{1}\r\n BODY[HEADER] ~{2}\r\n\r\n)\r\n"
        b"a3 NOOP\r\n"
    )
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(stream[pos : pos + cut])
        pos += cut
    chunks.append(stream[pos:])
    scanner = StreamScanner()
    pieces = [piece for chunk in chunks for piece in scanner.feed(chunk)]
    assert b"".join(p.data for p in pieces) == stream
    firsts = [p.data for p in pieces if p.first]
    assert firsts == [b"a1 APPEND INBOX (\\Seen) {12}\r\n", b"a2 APPEND INBOX {0+}\r\n",
                      b"* 1 FETCH (BODY[] {5}\r\n", b"a3 NOOP\r\n"]  # fmt: skip
    assert sum(p.last for p in pieces) == 4 and scanner.at_boundary
    literals = [p.literal for p in pieces if p.literal is not None]
    assert [(lit.size, lit.sync) for lit in literals] == [(12, True), (0, False), (5, True),
                                                          (2, True)]  # fmt: skip
