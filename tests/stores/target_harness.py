"""One interface over every target implementation, for the contract suite.

A harness opens a fresh, empty target mailbox and reads a stored message's
bytes back the way a user of that store would see them: the Maildir file
itself, or BODY[] over a separate IMAP session (imapclient).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import imapclient

from mailferry.connection.auth import Credentials
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.base import TargetMailbox
from mailferry.stores.imap_target import open_imap_target
from mailferry.stores.maildir_names import folder_dirname
from mailferry.stores.maildir_target import MaildirTarget
from tests.stores.conftest import connect_options, new_user

_BARE_LF = re.compile(rb"(?<!\r)\n")


@dataclass
class TargetHarness:
    kind: str
    open: Callable[[], Awaitable[TargetMailbox]]
    read: Callable[[str, int], bytes]
    crlf_only: bool  # the store hands bare LFs back as CRLF (Dovecot over IMAP)

    def stored_form(self, data: bytes) -> bytes:
        """What the store gives back for ``data``."""
        return _BARE_LF.sub(b"\r\n", data) if self.crlf_only else data


def maildir_harness(root: Path) -> TargetHarness:
    address = "alice@example.com"

    async def open_target() -> TargetMailbox:
        return MaildirTarget(root).mailbox(address)

    def read(folder: str, uid: int) -> bytes:
        dirname = folder_dirname(folder)
        folder_dir = root / address if dirname is None else root / address / dirname
        for sub in ("cur", "new"):
            for path in (folder_dir / sub).iterdir():
                if re.match(rf"\d+\.M{uid}V\d+\.mailferry,", path.name):
                    return path.read_bytes()
        raise AssertionError(f"no file for UID {uid} in {folder_dir}")

    return TargetHarness("maildir", open_target, read, crlf_only=False)


def imap_harness(server: DovecotServer) -> TargetHarness:
    address, password = new_user(server, "target")

    async def open_target() -> TargetMailbox:
        return await open_imap_target(connect_options(server), Credentials(address, password))

    def read(folder: str, uid: int) -> bytes:
        with imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False) as client:
            client.login(address, password)
            client.select_folder(folder, readonly=True)
            found = client.fetch([uid], ["BODY.PEEK[]"])
            return bytes(found[uid][b"BODY[]"])

    return TargetHarness("imap", open_target, read, crlf_only=True)
