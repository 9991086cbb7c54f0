"""The verifier on real stores: a small generated corpus is migrated with ``sync_mailbox``
from the rig's Dovecot source to the Dovecot target (IMAP) and to a Maildir, verified
(everything matches), then the target is tampered with in four ways and each
difference must show up exactly where it was made, and nowhere else."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import imapclient
import pytest

from mailferry.connection.auth import Credentials
from mailferry.connection.body import MessageBody
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.headers import summarize
from mailferry.engine.sync import sync_mailbox
from mailferry.engine.verify import verify_mailbox
from mailferry.engine.verify_match import Hashed, pair_up, stamp
from mailferry.rig import CorpusSpec, DovecotServer, GeneratedMessage, RigAccount, generate
from mailferry.state import StateStore
from mailferry.stores.base import Appended, AppendItem, MessageMeta, TargetMailbox
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.stores.maildir_target import MaildirTarget
from mailferry.values.results import SkipReason
from mailferry.values.sync_options import SyncOptions
from mailferry.values.verify_report import FolderVerification, VerifyReport
from tests.conftest import MakeUser
from tests.stores.conftest import connect_options

FOLDERS = ("INBOX", "INBOX/Kvitteringer", "Sent", "Archive", "Økonomi & Løn", "Junk")
SPEC = CorpusSpec(
    seed=4242,
    messages=36,
    folders=FOLDERS,
    size_range=(2 * 1024, 24 * 1024),
    malformed_fraction=0.25,
    deleted_fraction=0.12,
)
OPTIONS = SyncOptions(max_message_size=16 * 1024, batch_linger=0.0)
KEY = "imap://source/verify -> target"
NEW_DATE = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
EXTRA = b"From: x@example.org\r\nSubject: planted\r\nMessage-ID: <planted@x>\r\n\r\nhi\r\n"

Opener = Callable[[], Awaitable[TargetMailbox]]


def _expected(message: GeneratedMessage) -> bool:
    return "\\Deleted" not in message.flags and message.imap_size <= OPTIONS.max_message_size


def _imap_name(folder: str) -> str:
    return folder.replace("/", ".")


def _corpus(server: DovecotServer, account: RigAccount) -> list[GeneratedMessage]:
    messages = list(generate(SPEC))
    server.write_maildir(account.name, messages)
    return messages


def _opener(kind: str, target: DovecotServer, account: RigAccount, root: Path) -> Opener:
    async def open_target() -> TargetMailbox:
        if kind == "maildir":
            return MaildirTarget(root).mailbox(f"{account.name}@example.org")
        credentials = Credentials(account.name, account.password)
        return await open_imap_target(connect_options(target), credentials)

    return open_target


async def _with_stores(
    source_server: DovecotServer,
    account: RigAccount,
    open_target: Opener,
    work: Callable[..., Awaitable[object]],
) -> object:
    credentials = Credentials(account.name, account.password)
    source = await open_imap_source(connect_options(source_server), credentials)
    target = await open_target()
    try:
        return await work(source, target)
    finally:
        await target.close()
        await source.close()


def _verify(
    source_server: DovecotServer,
    account: RigAccount,
    open_target: Opener,
    folder_options: FolderOptions | None = None,
) -> VerifyReport:
    async def work(source: object, target: TargetMailbox) -> VerifyReport:
        return await verify_mailbox(
            source,  # type: ignore[arg-type]
            target,
            folder_options=folder_options or FolderOptions(),
            options=OPTIONS,
        )

    report = asyncio.run(_with_stores(source_server, account, open_target, work))
    assert isinstance(report, VerifyReport)
    return report


def _migrate(
    source_server: DovecotServer, account: RigAccount, open_target: Opener, state_path: Path
) -> None:
    async def work(source: object, target: TargetMailbox) -> None:
        with StateStore.open(f"sqlite:///{state_path}") as state:
            result = await sync_mailbox(
                source,  # type: ignore[arg-type]
                target,
                state,
                KEY,
                folder_options=FolderOptions(),
                options=OPTIONS,
            )
        assert result.errors == {}

    asyncio.run(_with_stores(source_server, account, open_target, work))


def _by_folder(report: VerifyReport) -> dict[str, FolderVerification]:
    return {folder.source_folder: folder for folder in report.folders}


async def _target_uid(target: TargetMailbox, folder: str, message: GeneratedMessage) -> int:
    """The UID of the target copy of ``message`` (stored as the source served it)."""
    _, metas = await target.list_messages(folder)
    found = []
    async for stored in target.fetch(folder, [m.uid for m in metas]):  # read to the end
        with stored.body as body:
            if body.sha256() == message.imap_sha256():
                found.append(stored.meta.uid)
    assert len(found) == 1, f"{len(found)} copies of the message in {folder}"
    return found[0]


def _check_all_match(report: VerifyReport, messages: list[GeneratedMessage]) -> None:
    assert report.ok, report
    folders = _by_folder(report)
    assert set(folders) == {_imap_name(f) for f in FOLDERS}
    for name, folder in folders.items():
        assert folder.target_folder == name  # both sides use "." and keep the names
        mine = [m for m in messages if _imap_name(m.folder) == name]
        wanted = [m for m in mine if _expected(m)]
        assert folder.source_count == len(mine)
        assert folder.expected == folder.target_count == folder.matched == len(wanted)
        assert folder.expected_bytes == folder.target_bytes == sum(m.imap_size for m in wanted)
        kinds = Counter(skip.kind for skip in folder.policy_skipped)
        deleted = sum("\\Deleted" in m.flags for m in mine)
        assert kinds == Counter(
            {"Deleted": deleted, "LargeItem": len(mine) - len(wanted) - deleted}
        )
        assert not any(skip.on_target for skip in folder.policy_skipped)
    assert any(m.kind == "bare-lf" for m in messages if _expected(m))  # served as CRLF
    assert sum(len(f.policy_skipped) for f in report.folders) >= 2


@pytest.mark.parametrize("kind", ["imap", "maildir"])
def test_migrated_corpus_matches_then_each_tampering_shows_exactly(
    kind: str,
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = make_user("verify")
    messages = _corpus(dovecot_source, account)
    open_target = _opener(kind, dovecot_target, account, tmp_path / "maildir")
    _migrate(dovecot_source, account, open_target, tmp_path / "state.db")
    _check_all_match(_verify(dovecot_source, account, open_target), messages)

    expected = [m for m in messages if _expected(m)]
    by_folder: dict[str, list[GeneratedMessage]] = {}
    for message in expected:
        by_folder.setdefault(_imap_name(message.folder), []).append(message)
    gone_folder, flag_folder, extra_folder, date_folder, deleted_folder = sorted(
        by_folder, key=lambda name: (-len(by_folder[name]), name)
    )[:5]
    gone, flagged = by_folder[gone_folder][0], by_folder[flag_folder][0]
    redated = by_folder[date_folder][0]
    deleted_later = by_folder[deleted_folder][-1]

    async def tamper(_source: object, target: TargetMailbox) -> dict[str, int]:
        uids: dict[str, int] = {}
        await target.delete(gone_folder, [await _target_uid(target, gone_folder, gone)])
        uids["flagged"] = await _target_uid(target, flag_folder, flagged)
        await target.set_flags(flag_folder, {uids["flagged"]: ("$Tampered",)})
        planted = AppendItem(MessageBody.from_bytes(EXTRA), ("\\Seen",), NEW_DATE)
        (outcome,) = await target.append(extra_folder, [planted])
        assert isinstance(outcome, Appended) and outcome.target_uid is not None
        uids["extra"] = outcome.target_uid
        old = await _target_uid(target, date_folder, redated)
        (found,) = [message async for message in target.fetch(date_folder, [old])]
        with found.body as body:
            copy = AppendItem(body, found.meta.flags, NEW_DATE)
            (moved,) = await target.append(date_folder, [copy])
        assert isinstance(moved, Appended) and moved.target_uid is not None
        uids["redated"] = moved.target_uid
        await target.delete(date_folder, [old])
        return uids

    uids = asyncio.run(_with_stores(dovecot_source, account, open_target, tamper))
    assert isinstance(uids, dict)
    _flag_on_source(dovecot_source, account, deleted_folder, deleted_later)

    report = _verify(dovecot_source, account, open_target)
    assert not report.ok
    assert (report.missing, report.unexpected) == (1, 1)
    assert (report.flag_mismatches, report.date_mismatches) == (1, 1)
    folders = _by_folder(report)
    bad = {name for name, folder in folders.items() if not folder.ok}
    assert bad == {gone_folder, flag_folder, extra_folder, date_folder}

    (missing,) = folders[gone_folder].missing
    assert missing.size == gone.imap_size
    assert stamp(missing.internaldate) == stamp(gone.internaldate)
    assert missing.subject == (summarize(MessageBody.from_bytes(gone.imap_data)).subject or None)
    assert folders[gone_folder].target_count == folders[gone_folder].expected - 1

    (flags,) = folders[flag_folder].flag_mismatches
    assert flags.target_uid == uids["flagged"]
    assert set(flags.missing) == set(flagged.flags)  # all of them: the target has one keyword
    assert flags.extra == ("$Tampered",)

    (extra,) = folders[extra_folder].unexpected
    assert (extra.uid, extra.size, extra.subject) == (uids["extra"], len(EXTRA), "planted")
    assert extra.internaldate == NEW_DATE

    (date,) = folders[date_folder].date_mismatches
    assert date.target_uid == uids["redated"]
    assert stamp(date.source_date) == stamp(redated.internaldate)
    assert date.target_date == NEW_DATE
    assert not folders[date_folder].missing and not folders[date_folder].unexpected

    later = folders[deleted_folder]
    assert later.ok and later.expected == len(by_folder[deleted_folder]) - 1
    assert [s.kind for s in later.policy_skipped if s.on_target] == ["Deleted"]


def _flag_on_source(
    server: DovecotServer, account: RigAccount, folder: str, message: GeneratedMessage
) -> None:
    """The user flags a message ``\\Deleted`` after it was migrated (no expunge)."""
    with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
        client.login(account.name, account.password)
        client.select_folder(folder)
        found = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        uids = [uid for uid, data in found.items() if bytes(data[b"BODY[]"]) == message.imap_data]
        assert len(uids) == 1
        client.add_flags(uids, [b"\\Deleted"])


def test_excluded_folder_is_reported_not_compared(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = make_user("verify")
    _corpus(dovecot_source, account)
    open_target = _opener("maildir", dovecot_target, account, tmp_path / "maildir")
    _migrate(dovecot_source, account, open_target, tmp_path / "state.db")
    report = _verify(dovecot_source, account, open_target, FolderOptions(exclude=("Archive",)))
    assert report.ok
    assert "Archive" not in _by_folder(report)
    assert [(s.source_name, s.reason) for s in report.skipped_folders] == [
        ("Archive", SkipReason.EXCLUDED)
    ]


def test_unmigrated_target_shows_every_expected_message_missing(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = make_user("verify")
    messages = _corpus(dovecot_source, account)
    open_target = _opener("maildir", dovecot_target, account, tmp_path / "maildir")
    report = _verify(dovecot_source, account, open_target)
    assert not report.ok
    assert report.missing == sum(_expected(m) for m in messages)
    folders = _by_folder(report)
    assert folders["INBOX"].target_exists  # a Maildir always has its INBOX
    assert not any(f.target_exists for name, f in folders.items() if name != "INBOX")
    assert all(f.target_count == 0 and f.error is None for f in folders.values())


def _hashed(uid: int, digest: str, day: int, flags: tuple[str, ...] = ()) -> Hashed:
    date = dt.datetime(2024, 1, day, tzinfo=dt.UTC)
    return Hashed(MessageMeta(uid, 10, flags, date), digest, 10)


def test_identical_copies_pair_by_their_flags_first() -> None:
    """Two byte-identical copies with one date, one flagged: the migration may have paired
    them either way round; verify must not see two flag mismatches (found by the
    crash-loop bench: target UIDs in the other order than the source's)."""
    source = [_hashed(1, "a", 1), _hashed(2, "a", 1, ("\\Flagged",))]
    target = [_hashed(10, "a", 1, ("\\Flagged", "\\Recent")), _hashed(11, "a", 1)]
    pairs, lone_source, lone_target = pair_up(source, target)
    assert [(s.meta.uid, t.meta.uid) for s, t in pairs] == [(1, 11), (2, 10)]
    assert lone_source == lone_target == []


def test_pairing_is_a_multiset_and_prefers_equal_dates() -> None:
    source = [_hashed(1, "a", 1), _hashed(2, "a", 2), _hashed(3, "a", 3), _hashed(4, "b", 1)]
    target = [_hashed(10, "a", 3), _hashed(11, "a", 1), _hashed(12, "c", 1)]
    pairs, lone_source, lone_target = pair_up(source, target)
    assert [(s.meta.uid, t.meta.uid) for s, t in pairs] == [(1, 11), (3, 10)]
    assert [m.meta.uid for m in lone_source] == [2, 4]
    assert [m.meta.uid for m in lone_target] == [12]


def test_pairing_with_changed_dates_pairs_in_date_order() -> None:
    source = [_hashed(1, "a", 5), _hashed(2, "a", 6)]
    target = [_hashed(7, "a", 9), _hashed(8, "a", 8)]
    pairs, lone_source, lone_target = pair_up(source, target)
    assert [(s.meta.uid, t.meta.uid) for s, t in pairs] == [(1, 8), (2, 7)]
    assert lone_source == lone_target == []
