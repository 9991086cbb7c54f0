"""The generated Maildir as Dovecot serves it: names, counts, flags, dates, exact bytes."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest
from imapclient import IMAPClient

from mailferry.rig import CorpusSpec, DovecotServer, generate
from tests.conftest import MASTER_USER, CorpusAccount, MakeUser

SPECIAL = {"Sent": b"\\Sent", "Drafts": b"\\Drafts", "Trash": b"\\Trash", "Junk": b"\\Junk"}


@pytest.fixture
def client(dovecot_source: DovecotServer, corpus_account: CorpusAccount) -> Iterator[IMAPClient]:
    imap = IMAPClient(
        dovecot_source.host,
        dovecot_source.imaps_port,
        ssl=True,
        ssl_context=dovecot_source.ssl_context(),
        timeout=30,
    )
    imap.normalise_times = False
    imap.login(corpus_account.account.name, corpus_account.account.password)
    yield imap
    imap.logout()


def _server_name(folder: str) -> str:
    return folder.replace("/", ".")


def _expected_folders(corpus: CorpusAccount) -> set[str]:
    names = set()
    for folder in corpus.spec.folders:
        parts = folder.split("/")
        names.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return {_server_name(n) for n in names}


def test_list_and_lsub_show_exactly_the_intended_names(
    client: IMAPClient, corpus_account: CorpusAccount
) -> None:
    listed = {name for _flags, delimiter, name in client.list_folders()}
    assert {delimiter for _f, delimiter, _n in client.list_folders()} == {b"."}
    expected = _expected_folders(corpus_account)
    assert listed == expected
    assert {"Økonomi & Løn", "Projekter.Æbler.2019", "客户.北京", "R&D"} <= listed
    assert {name for _f, _d, name in client.list_sub_folders()} == expected


def test_special_use_flags_on_the_corpus_folders(client: IMAPClient) -> None:
    flags_by_name = {name: flags for flags, _d, name in client.list_folders()}
    for name, flag in SPECIAL.items():
        assert flag in flags_by_name[name], name


def test_status_counts_match(client: IMAPClient, corpus_account: CorpusAccount) -> None:
    expected = Counter(_server_name(m.folder) for m in corpus_account.messages)
    for folder in _expected_folders(corpus_account):
        status = client.folder_status(folder, [b"MESSAGES"])
        assert status[b"MESSAGES"] == expected.get(folder, 0), folder


def test_flags_dates_and_bytes_match_exactly(
    client: IMAPClient, corpus_account: CorpusAccount
) -> None:
    served: Counter[tuple[str, str, frozenset[bytes], datetime]] = Counter()
    for folder in sorted(_expected_folders(corpus_account)):
        count = client.select_folder(folder, readonly=True)[b"EXISTS"]
        if not count:
            continue
        uids = client.search("ALL")
        assert len(uids) == count
        fetched = client.fetch(uids, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[]"])
        for item in fetched.values():
            body = item[b"BODY[]"]
            assert item[b"RFC822.SIZE"] == len(body)
            flags = frozenset(f for f in item[b"FLAGS"] if f != b"\\Recent")
            when = item[b"INTERNALDATE"]
            assert when.tzinfo is not None
            served[(folder, hashlib.sha256(body).hexdigest(), flags, when)] += 1
    expected: Counter[tuple[str, str, frozenset[bytes], datetime]] = Counter()
    for m in corpus_account.messages:
        flags = frozenset(f.encode() for f in m.flags)
        expected[(_server_name(m.folder), m.imap_sha256(), flags, m.internaldate)] += 1
    assert served == expected


def test_master_user_reads_the_corpus(
    dovecot_source: DovecotServer, corpus_account: CorpusAccount
) -> None:
    imap = IMAPClient(dovecot_source.host, dovecot_source.imap_port, ssl=False, timeout=30)
    imap.login(f"{corpus_account.account.name}*{MASTER_USER.name}", MASTER_USER.password)
    inbox = sum(1 for m in corpus_account.messages if m.folder == "INBOX")
    assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == inbox
    imap.logout()


def test_big_message_round_trips(dovecot_source: DovecotServer, make_user: MakeUser) -> None:
    account = make_user("big", servers=[dovecot_source])
    spec = CorpusSpec(
        seed=9, messages=3, folders=("INBOX",), large_count=1, large_size=(6_000_000, 6_000_000)
    )
    messages = list(generate(spec))
    dovecot_source.write_maildir(account.name, messages)
    imap = IMAPClient(dovecot_source.host, dovecot_source.imap_port, ssl=False, timeout=60)
    imap.login(account.name, account.password)
    imap.select_folder("INBOX", readonly=True)
    fetched = imap.fetch(imap.search("ALL"), ["RFC822.SIZE"])
    sizes = sorted(v[b"RFC822.SIZE"] for v in fetched.values())
    assert sizes == sorted(m.imap_size for m in messages)
    big = max(messages, key=lambda m: m.size)
    uid = imap.search(["LARGER", 5_000_000])
    body = imap.fetch(uid, ["BODY.PEEK[]"])[uid[0]][b"BODY[]"]
    assert hashlib.sha256(body).hexdigest() == big.imap_sha256()
    imap.logout()
