"""IMAP target specifics: MULTIAPPEND batches, refusals, quota, capability fallbacks.

Dovecot shows what it can (a refused message inside a batch, a keyword it
can't store, a full quota); a scripted server plays what no Dovecot here does
(APPENDLIMIT, [TOOBIG], a server without UIDPLUS or MULTIAPPEND, throttling).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from mailferry.connection.auth import Credentials
from mailferry.connection.body import MessageBody
from mailferry.connection.options import ConnectOptions
from mailferry.errors import FolderError, QuotaExceeded, Throttled
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.base import Appended, AppendItem, Rejected
from mailferry.stores.imap_target import ImapTarget, open_imap_target
from mailferry.values.connection import Security
from tests.connection.scripted_server import ScriptedServer
from tests.stores.conftest import connect_options, new_user

DATE = dt.datetime(2022, 2, 2, 2, 2, 2, tzinfo=dt.UTC)


def message(n: int, size: int = 0, flags: tuple[str, ...] = ()) -> AppendItem:
    data = f"Message-ID: <m{n}@example.com>\r\nSubject: {n}\r\n\r\n".encode()
    data += b"x" * max(0, size - len(data) - 2) + b"\r\n"
    return AppendItem(MessageBody.from_bytes(data), flags, DATE)


def empty() -> AppendItem:
    return AppendItem(MessageBody.from_bytes(b""), (), DATE)


async def fresh_target(server: DovecotServer, quota_mb: int | None = None) -> ImapTarget:
    address, password = new_user(server, "append", quota_mb=quota_mb)
    return await open_imap_target(connect_options(server), Credentials(address, password))


def test_many_messages_go_in_multiappend_batches(dovecot_target: DovecotServer) -> None:
    async def main() -> None:
        target = await fresh_target(dovecot_target)
        try:
            outcomes = await target.append("INBOX", [message(n) for n in range(120)])
            uids = [o.target_uid for o in outcomes if isinstance(o, Appended)]
            assert uids == list(range(1, 121))
            status, metas = await target.list_messages("INBOX")
            assert status.messages == 120 and len(metas) == 120
        finally:
            await target.close()

    asyncio.run(main())


def test_a_refused_message_in_a_batch_costs_only_itself(dovecot_target: DovecotServer) -> None:
    async def main() -> None:
        target = await fresh_target(dovecot_target)
        try:
            items = [message(1), message(2), empty(), message(4)]
            outcomes = await target.append("INBOX", items)
            assert [type(o) for o in outcomes] == [Appended, Appended, Rejected, Appended]
            refused = outcomes[2]
            assert isinstance(refused, Rejected) and refused.kind == "CorruptItem"
            assert "zero byte" in refused.reason
            uids = [o.target_uid for o in outcomes if isinstance(o, Appended) and o.target_uid]
            ids = await target.message_ids("INBOX", uids)
            assert sorted(ids.values()) == [f"<m{n}@example.com>" for n in (1, 2, 4)]
            status = await target.folder_status("INBOX")
            assert status.messages == 3  # nothing appended twice
        finally:
            await target.close()

    asyncio.run(main())


def test_a_keyword_the_server_refuses_does_not_cost_the_message(
    dovecot_target: DovecotServer,
) -> None:
    async def main() -> None:
        target = await fresh_target(dovecot_target)
        try:
            [outcome] = await target.append("INBOX", [message(1, flags=("\\Seen", "K" * 300))])
            assert isinstance(outcome, Appended) and outcome.target_uid == 1
            _, [meta] = await target.list_messages("INBOX")
            assert meta.flags == ("\\Seen",)
        finally:
            await target.close()

    asyncio.run(main())


def test_a_full_mailbox_fails_the_user_not_the_message(dovecot_target: DovecotServer) -> None:
    async def main() -> None:
        target = await fresh_target(dovecot_target, quota_mb=1)
        try:
            with pytest.raises(QuotaExceeded) as caught:
                await target.append("INBOX", [message(1, 700_000), message(2, 700_000)])
            assert "OVERQUOTA" in caught.value.reason
        finally:
            await target.close()

    asyncio.run(main())


# -- a scripted server ---------------------------------------------------------------

_LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n$")


class Scripted:
    """A minimal IMAP target; ``refuse(messages)`` returns the tagged reply text or None."""

    def __init__(self, capabilities: str, refuse: object) -> None:
        self.capabilities = capabilities
        self.refuse = refuse
        self.appends: list[list[bytes]] = []
        self.commands: list[str] = []

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"* OK [CAPABILITY {self.capabilities}] ready\r\n".encode())
        uid = 1
        while True:
            line = await reader.readline()
            if not line:
                return
            tag, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            self.commands.append(rest)
            if verb == "APPEND":
                messages = await self._literals(line, reader, writer)
                self.appends.append(messages)
                reply = self.refuse(messages)  # type: ignore[operator]
                if reply is None:
                    uids = f"{uid}:{uid + len(messages) - 1}" if len(messages) > 1 else str(uid)
                    uid += len(messages)
                    code = f"[APPENDUID 7 {uids}] " if "UIDPLUS" in self.capabilities else ""
                    reply = f"OK {code}done"
                writer.write(f"{tag} {reply}\r\n".encode())
            elif verb == "SELECT":
                writer.write(
                    b"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 1] x\r\n"
                    b"* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] x\r\n"
                    + f"{tag} OK [READ-WRITE] selected\r\n".encode()
                )
            elif verb == "LIST":
                writer.write(f'* LIST (\\Noselect) "/" ""\r\n{tag} OK listed\r\n'.encode())
            elif verb == "LOGOUT":
                writer.write(f"* BYE bye\r\n{tag} OK bye\r\n".encode())
                return
            else:
                writer.write(f"{tag} OK fine\r\n".encode())
            await writer.drain()

    async def _literals(
        self, line: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> list[bytes]:
        messages = []
        while (match := _LITERAL.search(line)) is not None:
            if not match.group(2):
                writer.write(b"+ go on\r\n")
                await writer.drain()
            messages.append(await reader.readexactly(int(match.group(1))))
            line = await reader.readline()
        return messages


def scripted(capabilities: str, refuse: object, scenario: object) -> Scripted:
    server_script = Scripted(capabilities, refuse)

    async def main() -> None:
        async with ScriptedServer(server_script.handler) as server:
            options = ConnectOptions("127.0.0.1", server.port, Security.NONE, command_timeout=5)
            target = await open_imap_target(options, Credentials("u", "p"))
            try:
                await scenario(target)  # type: ignore[operator]
            finally:
                await target.close()

    asyncio.run(asyncio.wait_for(main(), 20))
    return server_script


def test_size_refusals_are_large_items_and_others_corrupt_items() -> None:
    def refuse(messages: list[bytes]) -> str | None:
        if any(b"Subject: 3" in m for m in messages):
            return "NO [TOOBIG] message too big"
        if any(b"Subject: 4" in m for m in messages):
            return "NO Invalid message header"
        return None

    got = []

    async def scenario(target: ImapTarget) -> None:
        got.extend(
            await target.append("INBOX", [message(1), message(2, 500), message(3), message(4)])
        )

    script = scripted("IMAP4rev1 LITERAL+ APPENDLIMIT=200", refuse, scenario)
    assert got[0] == Appended(None)  # no UIDPLUS: the UID is unknown
    assert got[1] == Rejected("LargeItem", "500 bytes exceed the server's APPENDLIMIT of 200")
    assert got[2] == Rejected("LargeItem", "NO [TOOBIG] message too big")
    assert got[3] == Rejected("CorruptItem", "NO Invalid message header")
    assert [len(batch) for batch in script.appends] == [1, 1, 1]  # no MULTIAPPEND; 2 never sent


def test_a_refused_batch_is_retried_one_by_one() -> None:
    def refuse(messages: list[bytes]) -> str | None:
        bad = any(b"Subject: 2\r\n" in m for m in messages)
        return "NO [LIMIT] message size exceeds the limit" if bad else None

    got = []

    async def scenario(target: ImapTarget) -> None:
        got.extend(await target.append("INBOX", [message(n) for n in range(1, 5)]))

    script = scripted("IMAP4rev1 LITERAL+ MULTIAPPEND UIDPLUS", refuse, scenario)
    assert [len(batch) for batch in script.appends] == [4, 1, 1, 1, 1]
    assert (got[0], got[2], got[3]) == (Appended(1), Appended(2), Appended(3))
    assert got[1] == Rejected("LargeItem", "NO [LIMIT] message size exceeds the limit")


def test_throttling_and_quota_are_not_blamed_on_a_message() -> None:
    async def append_one(target: ImapTarget) -> None:
        await target.append("INBOX", [message(1)])

    with pytest.raises(Throttled):
        scripted("IMAP4rev1", lambda m: "NO [THROTTLED] Request is throttled", append_one)
    with pytest.raises(QuotaExceeded):
        scripted("IMAP4rev1", lambda m: "NO [OVERQUOTA] Quota exceeded", append_one)
    with pytest.raises(FolderError):
        scripted("IMAP4rev1", lambda m: "NO [TRYCREATE] No such mailbox", append_one)


def test_delete_needs_uidplus() -> None:
    async def scenario(target: ImapTarget) -> None:
        with pytest.raises(FolderError) as caught:
            await target.delete("INBOX", [1])
        assert "UIDPLUS" in caught.value.reason

    script = scripted("IMAP4rev1", lambda m: None, scenario)
    assert not any("EXPUNGE" in command or "STORE" in command for command in script.commands)


def test_only_flags_the_folder_keeps_are_sent() -> None:
    async def scenario(target: ImapTarget) -> None:
        await target.append("INBOX", [message(1, flags=("\\Seen", "\\Flagged", "$Label"))])

    script = scripted("IMAP4rev1 LITERAL+", lambda m: None, scenario)
    [append] = [command for command in script.commands if command.startswith("APPEND")]
    assert append.startswith('APPEND INBOX ($Label \\Seen) "02-Feb-2022 02:02:02 +0000" {')
