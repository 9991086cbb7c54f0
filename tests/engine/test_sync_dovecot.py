"""sync_mailbox with the real stores: the IMAP source on Dovecot (maildir) into the IMAP
target on Dovecot (sdbox) and into the Maildir target, from the corpus generator's mail
(odd MIME, bare LF, duplicate and missing Message-IDs, keywords)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailferry.connection.auth import Credentials
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.rig.corpus import CorpusSpec, generate
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.base import TargetMailbox
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.values.sync_options import SyncOptions
from tests.engine.support import maildir, open_state
from tests.stores.conftest import connect_options, new_user


def test_real_stores_copy_everything_once_and_a_rerun_changes_nothing(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, tmp_path: Path
):
    address, password = new_user(dovecot_source, "engine")
    dovecot_target.add_user(address, password)
    messages = tuple(generate(CorpusSpec(seed=5, messages=80)))
    dovecot_source.write_maildir(address, messages)
    wanted = sum(1 for m in messages if "\\Deleted" not in m.flags)
    credentials = Credentials(address, password)

    async def migrate(target: TargetMailbox, state_name: str) -> None:
        source = await open_imap_source(connect_options(dovecot_source), credentials)
        try:
            with open_state(tmp_path / state_name) as state:
                options = SyncOptions(batch_count=7)
                first = await sync_mailbox(
                    source, target, state, "k", folder_options=FolderOptions(), options=options
                )
                deleted = len(messages) - wanted
                assert first.errors == {} and first.complete
                assert [i.kind for i in first.skipped_items] == ["Deleted"] * deleted
                assert first.copied == wanted
                assert first.items == len(messages)
                assert (first.in_scope, first.synced, first.skipped_total) == (
                    len(messages),
                    wanted,
                    deleted,
                )
                again = await sync_mailbox(
                    source, target, state, "k", folder_options=FolderOptions(), options=options
                )
                assert (again.copied, again.flags_updated, again.already_present) == (
                    0,
                    0,
                    wanted,
                )
                assert again.complete and again.in_scope == len(messages)
                assert again.skipped_total == deleted and again.skipped_items == ()
        finally:
            await source.close()
            await target.close()

    async def main() -> None:
        imap = await open_imap_target(connect_options(dovecot_target), credentials)
        await migrate(imap, "imap.db")
        await migrate(maildir(tmp_path / "mail"), "maildir.db")

    asyncio.run(main())
