"""The rig's default corpus, migrated by ``sync_mailbox`` from the real Dovecot source to
a Maildir (then served by Dovecot) and to the real Dovecot target, checked folder by
folder: names, counts, bytes (sha256 multiset), flags with keywords, INTERNALDATE."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from mailferry.connection.auth import Credentials
from mailferry.rig import DEFAULT_FOLDERS, DovecotServer
from mailferry.values.results import MailboxResult
from tests.conftest import CorpusAccount, MakeUser
from tests.integration.mailview import (
    Login,
    View,
    count,
    differences,
    migrated,
    non_empty,
    read_view,
)
from tests.integration.support import (
    maildir_mailbox,
    new_address,
    open_master_target,
    open_source,
    run_sync,
    run_verify,
    serve_maildir,
    verify_problems,
)

#: Folders whose names must survive exactly (Dovecot's "." is the hierarchy on both sides).
UNUSUAL_NAMES = ("Økonomi & Løn", "Projekter.Æbler.2019", "客户.北京", "R&D", "Archive.2019")


@pytest.fixture(scope="module")
def source_view(dovecot_source: DovecotServer, corpus_account: CorpusAccount) -> View:
    account = corpus_account.account
    return read_view(dovecot_source, Login(account.name, account.password))


def expected_target(source_view: View) -> View:
    return migrated(source_view)


def check_the_corpus_is_what_we_think(source_view: View, corpus: CorpusAccount) -> None:
    """Guards the test itself: the source really holds every odd folder and message."""
    assert {f.replace("/", ".") for f in DEFAULT_FOLDERS} <= set(non_empty(source_view))
    assert count(source_view) == len(corpus.messages)
    keywords = {f for c in source_view.values() for m in c for f in m.flags if f[0] != "\\"}
    assert {"$Forwarded", "$Junk"} <= keywords and keywords - {"$Forwarded", "$Junk"}
    assert {m.kind for m in corpus.messages} >= {"bare-lf", "8bit-header", "long-line"}


def check_result(result: MailboxResult, expected: View) -> None:
    assert result.errors == {}
    assert result.skipped == 0 and result.skipped_items == ()
    assert result.copied == count(expected)
    copied = Counter({f.target_folder: f.copied for f in result.folders if f.copied})
    assert copied == Counter({name: sum(c.values()) for name, c in expected.items()})


def test_corpus_to_maildir_served_by_dovecot(
    dovecot_source: DovecotServer,
    corpus_account: CorpusAccount,
    source_view: View,
    rig_root: Path,
    tmp_path: Path,
) -> None:
    check_the_corpus_is_what_we_think(source_view, corpus_account)
    account = corpus_account.account
    address = new_address("corpus-maildir")
    root = rig_root / "maildir"

    async def migrate_and_verify() -> MailboxResult:
        credentials = Credentials(account.name, account.password)
        source = await open_source(dovecot_source, credentials)
        target = maildir_mailbox(root, address)
        try:
            result = await run_sync(source, target, tmp_path / "state.db", "corpus->maildir")
            report = await run_verify(source, target)
        finally:
            await source.close()
            await target.close()
        assert report.ok, verify_problems(report)
        assert report.missing == report.unexpected == 0
        return result

    result = asyncio.run(migrate_and_verify())
    expected = expected_target(source_view)
    check_result(result, expected)
    serve_maildir(dovecot_source, root, address, "served-maildir-pw")
    served = read_view(dovecot_source, Login(address, "served-maildir-pw"))
    assert differences(expected, non_empty(served)) == []
    assert set(UNUSUAL_NAMES) <= set(served)


def test_corpus_to_dovecot_target_as_master_user(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    corpus_account: CorpusAccount,
    source_view: View,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = corpus_account.account
    owner = make_user("corpus-target", servers=(dovecot_target,))

    async def migrate_and_verify() -> MailboxResult:
        credentials = Credentials(account.name, account.password)
        source = await open_source(dovecot_source, credentials)
        target = await open_master_target(dovecot_target, owner.name)
        try:
            result = await run_sync(source, target, tmp_path / "state.db", "corpus->dovecot")
            report = await run_verify(source, target)
        finally:
            await source.close()
            await target.close()
        assert report.ok, verify_problems(report)
        assert report.missing == report.unexpected == 0
        return result

    result = asyncio.run(migrate_and_verify())
    expected = expected_target(source_view)
    check_result(result, expected)
    on_target = read_view(dovecot_target, Login(owner.name, owner.password))
    assert differences(expected, non_empty(on_target)) == []
    assert set(UNUSUAL_NAMES) <= set(on_target)
