"""The IMAP source against a real Dovecot filled by the corpus generator."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import imapclient
import pytest

from mailferry.connection.auth import Credentials
from mailferry.errors import FolderError
from mailferry.rig.corpus import CorpusSpec, GeneratedMessage, generate
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.imap_source import ImapSource, open_imap_source
from tests.stores.conftest import connect_options, new_user


@dataclass(frozen=True)
class FilledUser:
    address: str
    password: str
    messages: tuple[GeneratedMessage, ...]

    def folder_of(self, message: GeneratedMessage) -> str:
        return message.folder.replace("/", ".")  # the rig's Dovecot uses "." as separator

    def in_folder(self, folder: str) -> list[GeneratedMessage]:
        return [m for m in self.messages if self.folder_of(m) == folder]

    @property
    def folders(self) -> set[str]:
        return {self.folder_of(m) for m in self.messages}


def fill(server: DovecotServer, seed: int, count: int) -> FilledUser:
    address, password = new_user(server, "source")
    messages = tuple(generate(CorpusSpec(seed=seed, messages=count)))
    server.write_maildir(address, messages)
    return FilledUser(address, password, messages)


@pytest.fixture(scope="module")
def corpus_user(dovecot_source: DovecotServer) -> FilledUser:
    """Read-only tests share this user; tests that change mail make their own."""
    return fill(dovecot_source, seed=11, count=60)


def run(
    server: DovecotServer, user: FilledUser, scenario: Callable[[ImapSource], Awaitable[None]]
) -> None:
    async def main() -> None:
        credentials = Credentials(user.address, user.password)
        source = await open_imap_source(connect_options(server), credentials)
        try:
            await scenario(source)
        finally:
            await source.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def identity(message_id: str | None, size: int, stamp: float, flags: tuple[str, ...]) -> tuple:
    return (message_id, size, int(stamp), tuple(sorted(flags)))


def test_list_folders_shows_every_folder(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        listed = await source.list_folders()
        assert corpus_user.folders <= {folder.name for folder in listed}
        assert {folder.delimiter for folder in listed} == {"."}
        assert await source.personal_prefix() is None

    run(dovecot_source, corpus_user, scenario)


def test_listing_matches_the_corpus(dovecot_source: DovecotServer, corpus_user: FilledUser) -> None:
    async def scenario(source: ImapSource) -> None:
        for folder in sorted(corpus_user.folders):
            expected = corpus_user.in_folder(folder)
            status = await source.status(folder)
            listed_status, metas = await source.list_messages(folder)
            assert listed_status == status
            assert status.messages == len(expected) == len(metas)
            assert status.uidnext > max(meta.uid for meta in metas)
            assert status.highestmodseq is not None
            ids = await source.message_ids(folder, [meta.uid for meta in metas])
            got = Counter(
                identity(ids[m.uid], m.size, m.internaldate.timestamp(), m.flags) for m in metas
            )
            want = Counter(
                identity(e.message_id, e.imap_size, e.internaldate.timestamp(), e.flags)
                for e in expected
            )
            assert got == want, folder
            assert all(meta.modseq is not None for meta in metas)
            assert all("\\Recent" not in meta.flags for meta in metas)

    run(dovecot_source, corpus_user, scenario)


def test_fetch_streams_the_exact_bytes(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        _, metas = await source.list_messages("INBOX")
        newest_first = [m.uid for m in sorted(metas, key=lambda m: m.internaldate, reverse=True)]
        digests = Counter()
        async for message in source.fetch("INBOX", newest_first):
            with message.body:
                assert message.meta.size == message.body.size
                digests[message.body.sha256()] += 1
        expected = Counter(m.imap_sha256() for m in corpus_user.in_folder("INBOX"))
        assert digests == expected

    run(dovecot_source, corpus_user, scenario)


def test_a_listed_fetch_streams_the_exact_bytes_with_uid_and_size_only(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        _, metas = await source.list_messages("INBOX")
        listed = {meta.uid: meta for meta in metas}
        digests = Counter()
        async for message in source.fetch("INBOX", list(listed), listed=True):
            with message.body:
                assert message.meta.size == message.body.size == listed[message.meta.uid].size
                assert message.meta.flags == ()
                digests[message.body.sha256()] += 1
        expected = Counter(m.imap_sha256() for m in corpus_user.in_folder("INBOX"))
        assert digests == expected

    run(dovecot_source, corpus_user, scenario)


def test_fetching_never_marks_anything_seen(dovecot_source: DovecotServer) -> None:
    user = fill(dovecot_source, seed=12, count=20)
    with imapclient.IMAPClient(
        dovecot_source.host, port=dovecot_source.imap_port, ssl=False
    ) as client:
        client.login(user.address, user.password)
        client.select_folder("INBOX")
        client.remove_flags(client.search(["ALL"]), [b"\\Seen"])
    unseen_before = _unseen(dovecot_source, user, "INBOX")
    assert len(unseen_before) == len(user.in_folder("INBOX")) > 0

    async def scenario(source: ImapSource) -> None:
        _, metas = await source.list_messages("INBOX")
        async for message in source.fetch("INBOX", [meta.uid for meta in metas]):
            message.body.close()
        await source.message_ids("INBOX", [meta.uid for meta in metas])

    run(dovecot_source, user, scenario)
    assert _unseen(dovecot_source, user, "INBOX") == unseen_before


def _unseen(server: DovecotServer, user: FilledUser, folder: str) -> list[int]:
    with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
        client.login(user.address, user.password)
        client.select_folder(folder, readonly=True)
        return sorted(client.search(["UNSEEN"]))


def test_fetch_of_some_uids_skips_unknown_ones(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        _, metas = await source.list_messages("INBOX")
        wanted = [metas[0].uid, metas[-1].uid, metas[-1].uid + 1000]
        got = []
        async for message in source.fetch("INBOX", wanted):
            message.body.close()
            got.append(message.meta.uid)
        assert sorted(got) == wanted[:2]

    run(dovecot_source, corpus_user, scenario)


def test_stopping_a_fetch_early_leaves_the_session_usable(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        _, metas = await source.list_messages("INBOX")
        stream = source.fetch("INBOX", [meta.uid for meta in metas])
        async for message in stream:
            message.body.close()
            break
        await stream.aclose()  # type: ignore[attr-defined]
        status, again = await source.list_messages("INBOX")
        assert [m.uid for m in again] == [m.uid for m in metas] and status.messages == len(metas)

    run(dovecot_source, corpus_user, scenario)


def test_changed_since_lists_only_what_changed(dovecot_source: DovecotServer) -> None:
    user = fill(dovecot_source, seed=13, count=20)

    async def scenario(source: ImapSource) -> None:
        before, metas = await source.list_messages("INBOX")
        assert before.highestmodseq is not None
        target = metas[0].uid
        with imapclient.IMAPClient(
            dovecot_source.host, port=dovecot_source.imap_port, ssl=False
        ) as other:
            other.login(user.address, user.password)
            other.select_folder("INBOX")
            other.add_flags([target], [b"$Important"])
        after, changed = await source.list_messages("INBOX", changed_since=before.highestmodseq)
        assert [meta.uid for meta in changed] == [target]
        assert "$Important" in changed[0].flags
        assert after.highestmodseq is not None and after.highestmodseq > before.highestmodseq
        _, nothing = await source.list_messages("INBOX", changed_since=after.highestmodseq)
        assert nothing == []

    run(dovecot_source, user, scenario)


def test_a_missing_folder_is_a_folder_error(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        with pytest.raises(FolderError) as caught:
            await source.list_messages("No such folder")
        assert caught.value.folder == "No such folder"
        with pytest.raises(FolderError):
            await source.status("No such folder")
        with pytest.raises(FolderError):
            async for _ in source.fetch("No such folder", [1]):
                pass

    run(dovecot_source, corpus_user, scenario)


def test_a_folder_deleted_meanwhile_is_a_folder_error(dovecot_source: DovecotServer) -> None:
    user = fill(dovecot_source, seed=14, count=20)

    async def scenario(source: ImapSource) -> None:
        folders = {f.name for f in await source.list_folders()}
        assert "R&D" in folders
        with imapclient.IMAPClient(
            dovecot_source.host, port=dovecot_source.imap_port, ssl=False
        ) as other:
            other.login(user.address, user.password)
            other.delete_folder("R&D")
        with pytest.raises(FolderError):
            await source.list_messages("R&D")
        status, metas = await source.list_messages("INBOX")  # the session goes on
        assert status.messages == len(metas) > 0

    run(dovecot_source, user, scenario)


def test_message_ids_are_parsed_verbatim(
    dovecot_source: DovecotServer, corpus_user: FilledUser
) -> None:
    async def scenario(source: ImapSource) -> None:
        seen: list[str | None] = []
        for folder in sorted(corpus_user.folders):
            _, metas = await source.list_messages(folder)
            ids = await source.message_ids(folder, [meta.uid for meta in metas])
            seen.extend(ids.values())
        assert Counter(seen) == Counter(m.message_id for m in corpus_user.messages)
        assert None in seen  # the corpus has messages without one

    run(dovecot_source, corpus_user, scenario)
