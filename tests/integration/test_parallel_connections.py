"""Several connections per mailbox: folders copied in parallel over extra session pairs,
with the same exact end result as one connection (real Dovecot on both sides)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailferry.connection.auth import Credentials
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.rig import DovecotServer
from mailferry.state.store import StateStore
from mailferry.stores.base import SourceMailbox, TargetMailbox
from mailferry.values.progress import FolderFinished, ProgressEvent
from mailferry.values.sync_options import SyncOptions
from tests.conftest import CorpusAccount, MakeUser
from tests.integration.mailview import Login, differences, migrated, non_empty, read_view
from tests.integration.support import open_master_target, open_source


def test_three_connections_give_the_same_exact_copy(
    dovecot_source: DovecotServer,
    dovecot_target: DovecotServer,
    corpus_account: CorpusAccount,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = corpus_account.account
    owner = make_user("parallel", servers=(dovecot_target,))
    credentials = Credentials(account.name, account.password)
    opened: list[tuple[SourceMailbox, TargetMailbox]] = []
    events: list[ProgressEvent] = []

    async def more_sessions() -> tuple[SourceMailbox, TargetMailbox]:
        pair = (
            await open_source(dovecot_source, credentials),
            await open_master_target(dovecot_target, owner.name),
        )
        opened.append(pair)
        return pair

    async def main() -> None:
        source = await open_source(dovecot_source, credentials)
        target = await open_master_target(dovecot_target, owner.name)
        with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as state:
            result = await sync_mailbox(
                source, target, state, "parallel", folder_options=FolderOptions(),
                options=SyncOptions(), progress=events.append,
                more_sessions=more_sessions, connections=3,
            )  # fmt: skip
            assert result.errors == {}
            again = await sync_mailbox(
                source, target, state, "parallel", folder_options=FolderOptions(),
                options=SyncOptions(), more_sessions=more_sessions, connections=3,
            )  # fmt: skip
            assert again.copied == 0 and again.flags_updated == 0
        await source.close()
        await target.close()

    asyncio.run(main())
    assert len(opened) == 2  # two extra pairs for the first run; none for the no-op one
    finished = [e for e in events if isinstance(e, FolderFinished)]
    assert len({e.result.source_folder for e in finished}) == len(finished)
    source_view = read_view(dovecot_source, Login(account.name, account.password))
    on_target = read_view(dovecot_target, Login(owner.name, owner.password))
    assert differences(migrated(source_view), non_empty(on_target)) == []
