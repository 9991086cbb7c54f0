"""The benchmark's fidelity checker (bench/peers/fidelity.py) on tiny real mailboxes.

Two users on the rig's target server get the same few messages; one of them is then
changed in exactly one way, and the checker must name exactly that kind of difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from bench.peers.fidelity import Snapshot, compare, snapshot

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.imap.commands import AppendMessage
from mailferry.rig import DovecotServer, RigAccount
from mailferry.values.connection import Security
from tests.conftest import MakeUser

WHEN = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
BIG = 40_000  # stands for "over the tool's size limit" in the skip-rule test


def _message(number: int, extra: bytes = b"", size: int = 0) -> bytes:
    body = f"Body of message {number}\r\n".encode() + b"x" * size
    head = f"From: a@example.com\r\nSubject: m{number}\r\nMessage-ID: <{number}@example.com>\r\n"
    return head.encode() + extra + b"\r\n" + body


BASE: dict[str, list[AppendMessage]] = {
    "INBOX": [
        AppendMessage(_message(1), ("\\Seen",), WHEN),
        AppendMessage(_message(2), ("\\Flagged", "Projekt_X"), WHEN),
    ],
    "Økonomi & Løn": [AppendMessage(_message(3), ("$Forwarded", "\\Answered"), WHEN)],
    "Archive": [AppendMessage(_message(4, size=BIG), (), WHEN)],
}

Mutation = Callable[[ImapClient], Awaitable[None]]


def _options(server: DovecotServer) -> ConnectOptions:
    return ConnectOptions(server.host, server.imap_port, Security.NONE, command_timeout=30)


async def _fill(
    server: DovecotServer, account: RigAccount, folders: dict[str, list[AppendMessage]]
) -> ImapClient:
    client = await ImapClient.connect(_options(server))
    await client.login(Credentials(account.name, account.password))
    for folder, messages in folders.items():
        if folder != "INBOX":
            await client.create(folder)
        for message in messages:
            await client.append(folder, message)
    return client


async def _pair(
    server: DovecotServer, make_user: MakeUser, mutate: Mutation
) -> tuple[Snapshot, Snapshot]:
    accounts = [make_user("fid", servers=(server,)) for _ in range(2)]
    clients = [await _fill(server, account, BASE) for account in accounts]
    await mutate(clients[1])
    for client in clients:
        await client.logout()
    options = _options(server)
    snaps = [await snapshot(options, Credentials(a.name, a.password)) for a in accounts]
    return snaps[0], snaps[1]


async def _nothing(client: ImapClient) -> None:
    return None


async def _drop_seen(client: ImapClient) -> None:
    await client.select("INBOX")
    await client.uid_store("1", "-", ("\\Seen",))


async def _drop_keyword(client: ImapClient) -> None:
    await client.select("INBOX")
    await client.uid_store("2", "-", ("Projekt_X",))


async def _expunge_first(client: ImapClient) -> None:
    await client.select("INBOX")
    await client.uid_store("1", "+", ("\\Deleted",))
    await client.expunge()


async def _replace_first(client: ImapClient, message: AppendMessage) -> None:
    await _expunge_first(client)
    await client.append("INBOX", message)


async def _other_date(client: ImapClient) -> None:
    later = WHEN.replace(year=2022)
    await _replace_first(client, AppendMessage(_message(1), ("\\Seen",), later))


async def _other_bytes(client: ImapClient) -> None:
    await _replace_first(client, AppendMessage(_message(1) + b"!", ("\\Seen",), WHEN))


async def _tool_header(client: ImapClient) -> None:
    await _replace_first(client, AppendMessage(_message(1, b"X-TUID: abc123\r\n"), (), WHEN))


async def _duplicate(client: ImapClient) -> None:
    await client.append("INBOX", AppendMessage(_message(2), ("\\Flagged", "Projekt_X"), WHEN))


async def _drop_folder(client: ImapClient) -> None:
    await client.delete("Økonomi & Løn")


@pytest.mark.parametrize(
    ("mutate", "kinds"),
    [
        (_nothing, set()),
        (_drop_seen, {"flags"}),
        (_drop_keyword, {"keywords"}),
        (_other_date, {"dates"}),
        (_other_bytes, {"bytes"}),
        (_expunge_first, {"count", "bytes"}),
        (_duplicate, {"count", "bytes"}),
        (_drop_folder, {"folders"}),
        (_tool_header, {"bytes", "flags"}),
    ],
    ids=lambda v: getattr(v, "__name__", "") if callable(v) else "",
)
def test_each_kind_of_difference_is_caught(
    dovecot_target: DovecotServer, make_user: MakeUser, mutate: Mutation, kinds: set[str]
) -> None:
    source, target = asyncio.run(_pair(dovecot_target, make_user, mutate))
    assert source.messages == 4
    report = compare(source, target)
    assert report.kinds() == kinds, report.examples()
    assert report.ok is (not kinds)
    assert report.summary().startswith("OK") is (not kinds)


def test_snapshot_reads_flags_keywords_dates_and_sizes(
    dovecot_target: DovecotServer, make_user: MakeUser
) -> None:
    source, _ = asyncio.run(_pair(dovecot_target, make_user, _nothing))
    assert set(source.folders) >= {"INBOX", "Økonomi & Løn", "Archive"}
    inbox = sorted(source.folders["INBOX"], key=lambda m: m.size)
    assert {m.internaldate for m in inbox} == {WHEN}
    assert {m.flags for m in inbox} == {
        frozenset({"\\seen"}),
        frozenset({"\\flagged", "projekt_x"}),
    }
    (forwarded,) = source.folders["Økonomi & Løn"]
    assert forwarded.keywords == {"$forwarded"} and forwarded.system_flags == {"\\answered"}
    assert source.bytes == sum(m.size for msgs in BASE.values() for m in msgs)


def test_documented_skips_are_counted_not_hidden(
    dovecot_target: DovecotServer, make_user: MakeUser
) -> None:
    async def drop_big(client: ImapClient) -> None:
        await client.select("Archive")
        await client.uid_store("1", "+", ("\\Deleted",))
        await client.expunge()

    source, target = asyncio.run(_pair(dovecot_target, make_user, drop_big))
    assert compare(source, target).kinds() == {"count", "bytes"}
    report = compare(source, target, skip=lambda _f, m: m.size > BIG, skip_reason="too big")
    assert report.ok
    assert report.skipped == 1
    assert report.summary() == "OK (skipped 1 too big)"
