"""A Gmail source: folders are labels (engine/gmail_labels).

X-GM-MSGID and X-GM-LABELS are *simulated* here: ``GmailSource`` is the engine tests'
in-memory source whose listing carries the labels Gmail would send (no Gmail account is
reachable from here and Dovecot cannot send them; the protocol side is tested on
Google's documented responses in tests/imap/test_gmail_fetch.py, the folder side on
Dovecot with a ``[Gmail]`` namespace in tests/stores/test_gmail_dovecot.py). The target is
the in-memory target; the invariants (nothing lost, nothing doubled, TotalItemsInSource =
Synced + Skipped) are checked by ``check_invariants``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from mailferry.engine.folder_types import FolderOptions, SourceFolder, TargetLayout
from mailferry.engine.folders import plan_folders
from mailferry.engine.gmail_labels import DUPLICATE_LABEL, duplicate_labels, gmail_folders
from mailferry.engine.verify import verify_mailbox
from mailferry.errors import FolderError
from mailferry.state import StateStore
from mailferry.state.records import DONE
from mailferry.stores.base import FolderStatus, MessageMeta
from mailferry.values.results import MailboxResult, SkipReason
from mailferry.values.sync_options import SyncOptions
from tests.engine.memory_source import BASE_DATE, MemorySource, make_message
from tests.engine.memory_target import MemoryTarget
from tests.engine.support import KEY, maildir, open_state, sync

LISTING = [
    SourceFolder("INBOX", "/", ()),
    SourceFolder("Work", "/", ()),
    SourceFolder("[Gmail]", "/", ("\\Noselect",)),
    SourceFolder("[Gmail]/All Mail", "/", ("\\All",)),
    SourceFolder("[Gmail]/Important", "/", ("\\Important",)),
    SourceFolder("[Gmail]/Sent Mail", "/", ("\\Sent",)),
    SourceFolder("[Gmail]/Starred", "/", ("\\Flagged",)),
]


class GmailSource(MemorySource):
    """The in-memory source with simulated X-GM-MSGID / X-GM-LABELS in its listings:
    ``labels[(folder, uid)] = (msgid, labels)``."""

    def __init__(self) -> None:
        super().__init__(delimiter="/")
        self.labels: dict[tuple[str, int], tuple[int, tuple[str, ...]]] = {}
        self.gmail = True  # as ImapSource says when it sees X-GM-EXT-1

    def put(self, msgid: int, labels: tuple[str, ...], folders: tuple[str, ...]) -> None:
        body = make_message(f"message {msgid}", f"<{msgid}@example.org>")
        flags = ("\\Flagged",) if "\\Starred" in labels else ()
        date = BASE_DATE.replace(minute=msgid % 60)
        for folder in folders:
            uid = self.add(folder, body, flags, date)
            self.labels[(folder, uid)] = (msgid, labels)

    async def list_messages(
        self, folder: str, *, changed_since: int | None = None
    ) -> tuple[FolderStatus, list[MessageMeta]]:
        status, metas = await super().list_messages(folder, changed_since=changed_since)
        out = []
        for meta in metas:
            msgid, labels = self.labels.get((folder, meta.uid), (None, None))
            out.append(replace(meta, gm_msgid=msgid, gm_labels=labels))
        return status, out


def gmail_mailbox() -> GmailSource:
    source = GmailSource()
    for folder in LISTING:
        source.add_folder(folder.name, folder.attributes)
    all_mail = "[Gmail]/All Mail"
    source.put(1, ("\\Inbox",), ("INBOX", all_mail))  # in INBOX only
    source.put(
        2, ("\\Inbox", "Work", "\\Important"), ("INBOX", "Work", all_mail, "[Gmail]/Important")
    )
    source.put(3, ("Work", "\\Starred"), ("Work", all_mail, "[Gmail]/Starred"))
    source.put(4, (), (all_mail,))  # archived: only All Mail holds it
    source.put(5, ("\\Sent",), ("[Gmail]/Sent Mail", all_mail))
    return source


def check_accounted(
    source: GmailSource, target: MemoryTarget, state: StateStore, result: MailboxResult
) -> None:
    """Complete, TotalItemsInSource = Synced + Skipped, and every source message is a
    done pair or a skipped item (support.check_invariants knows no DuplicateLabel)."""
    assert result.complete and result.missing == 0
    in_source = sum(len(source.folders[f.source_folder].messages) for f in result.folders)
    assert result.in_scope == result.synced + result.skipped_total == in_source
    mailbox_id = state.mailbox_id(KEY)
    skipped = {(i.folder, i.source_uid) for i in state.skipped(mailbox_id)}
    for folder in result.folders:
        record = state.folder(mailbox_id, folder.source_folder)
        assert record is not None
        pairs = {p.source_uid for p in state.pairs(record.id) if p.state == DONE}
        for uid in source.folders[folder.source_folder].messages:
            paired, skip = uid in pairs, (folder.source_folder, uid) in skipped
            assert paired != skip, f"{folder.source_folder} UID {uid}: {paired=} {skip=}"
        assert len(target.bodies(folder.target_folder)) == len(pairs)


def meta(uid: int, msgid: int, labels: tuple[str, ...] | None) -> MessageMeta:
    return MessageMeta(uid, 10, (), BASE_DATE, None, msgid, labels)


def test_folders_of_a_gmail_source() -> None:
    _kept, views = gmail_folders(LISTING)
    assert {v.source_name: v.reason for v in views} == {
        "[Gmail]/Important": SkipReason.GMAIL_VIRTUAL,
        "[Gmail]/Starred": SkipReason.GMAIL_VIRTUAL,
    }
    plan = plan_folders(LISTING, TargetLayout("."), FolderOptions(gmail_source=True))
    targets = {m.source_name: m.target_name for m in plan.mappings}
    assert targets["[Gmail]/All Mail"] == "Archive"
    assert "[Gmail]/Starred" not in targets and "[Gmail]/Important" not in targets
    # not said to be Gmail: All Mail is skipped, the views migrate as before
    plain = plan_folders(LISTING, TargetLayout("."), FolderOptions())
    assert "[Gmail]/All Mail" not in {m.source_name for m in plain.mappings}
    assert "[Gmail]/Starred" in {m.source_name for m in plain.mappings}


def test_duplicate_decisions() -> None:
    plan = plan_folders(LISTING, TargetLayout("."), FolderOptions(gmail_source=True))
    candidates = {
        "INBOX": [meta(1, 2, ("\\Inbox", "Work"))],
        "Work": [meta(1, 2, ("\\Inbox", "Work")), meta(2, 3, ("Work",))],
        "[Gmail]/All Mail": [meta(1, 2, ("\\Inbox", "Work")), meta(2, 4, ()), meta(3, 5, None)],
    }
    found = duplicate_labels(candidates, plan.mappings, LISTING, copy_each=False)
    assert set(found) == {"Work", "[Gmail]/All Mail"}
    assert set(found["Work"]) == {1} and "'INBOX'" in found["Work"][1]
    assert set(found["[Gmail]/All Mail"]) == {1}  # 4 is archived, 5 has no labels known
    each = duplicate_labels(candidates, plan.mappings, LISTING, copy_each=True)
    assert set(each) == {"[Gmail]/All Mail"}


def test_sync_copies_each_message_once(tmp_path: Path) -> None:
    source = gmail_mailbox()
    target = MemoryTarget()
    options = SyncOptions()

    async def main() -> None:
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options)
            check_accounted(source, target, state, result)
            kinds = sorted((i.folder, i.kind) for i in result.skipped_items)
            assert kinds == [
                ("Work", DUPLICATE_LABEL),
                ("[Gmail]/All Mail", DUPLICATE_LABEL),
                ("[Gmail]/All Mail", DUPLICATE_LABEL),
                ("[Gmail]/All Mail", DUPLICATE_LABEL),
                ("[Gmail]/All Mail", DUPLICATE_LABEL),
            ]
            assert result.copied == 5  # one copy per Gmail message
            bodies = [b for f in result.folders for b in target.bodies(f.target_folder)]
            assert len(set(bodies)) == len(bodies) == 5
            assert result.skipped_total == 5
            by_folder = {f.source_folder: (f.target_folder, f.copied) for f in result.folders}
            assert by_folder["[Gmail]/All Mail"] == ("Archive", 1)  # the archived one
            assert {s.source_name for s in result.skipped_folders} >= {
                "[Gmail]/Important",
                "[Gmail]/Starred",
            }
            again = await sync(source, target, state, options)  # stable: nothing new
            check_accounted(source, target, state, again)
            assert again.copied == 0 and again.skipped_total == 5

    asyncio.run(main())


def test_copy_each_label(tmp_path: Path) -> None:
    source = gmail_mailbox()
    target = MemoryTarget()
    options = SyncOptions(gmail_labels="copy-each")

    async def main() -> None:
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options)
            check_accounted(source, target, state, result)
            assert result.copied == 6  # message 2 into INBOX and Work
            assert {i.folder for i in result.skipped_items} == {"[Gmail]/All Mail"}

    asyncio.run(main())


def test_source_kind_imap_keeps_the_old_rules(tmp_path: Path) -> None:
    source = gmail_mailbox()
    target = MemoryTarget()
    options = SyncOptions(source_kind="imap")

    async def main() -> None:
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options)
            check_accounted(source, target, state, result)
            reasons = {s.source_name: s.reason for s in result.skipped_folders}
            assert reasons["[Gmail]/All Mail"] == SkipReason.ALL_MAIL
            assert not result.skipped_items

    asyncio.run(main())


def test_verify_expects_each_gmail_message_once(tmp_path: Path) -> None:
    source = gmail_mailbox()
    target = maildir(tmp_path / "maildir")  # verify reads the target's bodies
    options = SyncOptions()

    async def main() -> None:
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, options)
        assert result.complete and result.copied == 5
        report = await verify_mailbox(
            source, target, folder_options=FolderOptions(), options=options
        )
        assert report.ok, report
        kinds = [s.kind for f in report.folders for s in f.policy_skipped]
        assert kinds.count(DUPLICATE_LABEL) == 5
        _, archived = await target.list_messages("Archive")  # a copy gone: found missing
        await target.delete("Archive", [m.uid for m in archived])
        again = await verify_mailbox(
            source, target, folder_options=FolderOptions(), options=options
        )
        assert again.missing == 1

    asyncio.run(main())


class InboxRefused(MemoryTarget):
    """A target that can't make or open INBOX: the folder other labels defer to."""

    async def ensure_folder(self, folder: str) -> None:
        if folder.upper() == "INBOX":
            raise FolderError(folder, "refused by the test target")
        await super().ensure_folder(folder)


def test_a_failed_home_label_leaves_the_mailbox_incomplete(tmp_path: Path) -> None:
    """Message 2 is in INBOX and Work: with one-folder its copy is INBOX's, and Work and
    All Mail skip it as DuplicateLabel. INBOX failing must not leave it skipped
    everywhere and copied nowhere with the mailbox complete."""
    source = gmail_mailbox()
    target = InboxRefused()

    async def main() -> None:
        with open_state(tmp_path / "state.db") as state:
            result = await sync(source, target, state, SyncOptions())
            assert not result.complete
            assert result.missing >= 2  # INBOX's two messages, 1 and 2
            assert "INBOX" in (result.incomplete_reason() or "")
            assert result.synced + result.skipped_total < result.in_scope

    asyncio.run(main())
