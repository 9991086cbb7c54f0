"""The IMAP target reads NAMESPACE: folders go under the personal prefix (``INBOX.``).

A real Dovecot with ``namespace inbox { prefix = INBOX. }`` (Courier's layout) shows
the prefix, CREATE under it, and two refusals: a name outside every namespace, and a
parent the ACL forbids children under (``[NOPERM] Permission denied``, Courier's words).
A scripted server plays what no Dovecot does: no NAMESPACE at all, a prefix written
without its delimiter.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.connection.auth import Credentials
from mailferry.connection.options import ConnectOptions
from mailferry.errors import FolderError
from mailferry.rig import RigCA
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.imap_target import ImapTarget, open_imap_target
from mailferry.values.connection import Security
from tests.connection.scripted_server import ScriptedServer
from tests.stores.conftest import connect_options, new_user
from tests.stores.test_imap_target import message

LOCKED = "INBOX.Locked"  # the ACL lets nobody create folders under it


@pytest.fixture(scope="module")
def prefixed_target(test_ca: RigCA) -> Iterator[DovecotServer]:
    root = Path(tempfile.mkdtemp(prefix="mailferry-rig-ns-"))
    root.chmod(0o755)
    server = DovecotServer(
        root / "target",
        test_ca,
        name="ns-target",
        storage="sdbox",
        inbox_prefix=True,
        acl_rules=(f"{LOCKED} -owner k",),
    )
    try:
        with server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def fresh(server: DovecotServer) -> ImapTarget:
    address, password = new_user(server, "ns")
    return await open_imap_target(connect_options(server), Credentials(address, password))


def test_the_prefix_and_delimiter_come_from_namespace(
    prefixed_target: DovecotServer, dovecot_target: DovecotServer
) -> None:
    async def main() -> tuple[tuple[str, str], tuple[str, str]]:
        found = []
        for server in (prefixed_target, dovecot_target):
            target = await fresh(server)
            found.append((target.personal_prefix, target.delimiter))
            await target.close()
        return found[0], found[1]

    prefixed, plain = asyncio.run(main())
    assert prefixed == ("INBOX.", ".")
    assert plain == ("", ".")  # no prefix: the names stay as they always were


def test_folders_and_their_parents_are_created_under_the_prefix(
    prefixed_target: DovecotServer,
) -> None:
    async def main() -> None:
        target = await fresh(prefixed_target)
        try:
            await target.ensure_folder("INBOX.Archive.2020")
            await target.ensure_folder("INBOX.Økonomi & Løn")
            await target.ensure_folder("INBOX")
            names = {f.name for f in await target.list_folders() if f.selectable}
            assert names == {"INBOX", "INBOX.Archive", "INBOX.Archive.2020", "INBOX.Økonomi & Løn"}
            await target.append("INBOX.Archive.2020", [message(1), message(2)])
            assert (await target.folder_status("INBOX.Archive.2020")).messages == 2
        finally:
            await target.close()

    asyncio.run(main())


def test_a_name_outside_the_namespace_is_refused_with_the_servers_words(
    prefixed_target: DovecotServer,
) -> None:
    async def main() -> FolderError:
        target = await fresh(prefixed_target)
        try:
            with pytest.raises(FolderError) as caught:
                await target.ensure_folder("Archive")
            return caught.value
        finally:
            await target.close()

    error = asyncio.run(main())
    assert error.folder == "Archive"
    assert error.reason.startswith("the server refused CREATE 'Archive': NO ")
    assert "nonexistent namespace" in error.reason and "INBOX." in error.reason
    assert "folder 'Archive'" in str(error)


def test_a_refused_parent_names_the_folder_and_the_name_tried(
    prefixed_target: DovecotServer,
) -> None:
    folder = f"{LOCKED}.Child.Deeper"

    async def main() -> tuple[FolderError, set[str]]:
        target = await fresh(prefixed_target)
        try:
            with pytest.raises(FolderError) as caught:
                await target.ensure_folder(folder)
            return caught.value, {f.name for f in await target.list_folders()}
        finally:
            await target.close()

    error, names = asyncio.run(main())
    assert error.folder == folder
    assert error.reason.startswith(
        f"the server refused CREATE '{LOCKED}.Child' (a parent of '{folder}'): "
        "NO [NOPERM] Permission denied"
    )
    assert LOCKED in names and f"{LOCKED}.Child" not in names


# -- a scripted server ---------------------------------------------------------------


def scripted_hierarchy(capabilities: str, namespace: str) -> tuple[str, str, list[str]]:
    """(personal_prefix, delimiter, commands) of a target opened on a scripted server."""
    commands: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"* OK [CAPABILITY {capabilities}] ready\r\n".encode())
        while line := await reader.readline():
            tag, _, command = line.decode().rstrip("\r\n").partition(" ")
            commands.append(command)
            if command == "NAMESPACE":
                writer.write(f"* NAMESPACE {namespace} NIL NIL\r\n".encode())
            elif command.startswith("LIST"):
                writer.write(b'* LIST (\\Noselect) "/" ""\r\n')
            writer.write(f"{tag} OK done\r\n".encode())
            await writer.drain()
            if command == "LOGOUT":
                return

    async def main() -> tuple[str, str]:
        async with ScriptedServer(handler) as server:
            options = ConnectOptions("127.0.0.1", server.port, Security.NONE, command_timeout=5)
            target = await open_imap_target(options, Credentials("u", "p"))
            await target.close()
            return target.personal_prefix, target.delimiter

    prefix, delimiter = asyncio.run(asyncio.wait_for(main(), 20))
    return prefix, delimiter, commands


def test_without_namespace_the_list_delimiter_and_no_prefix() -> None:
    prefix, delimiter, commands = scripted_hierarchy("IMAP4rev1", '(("INBOX." "."))')
    assert (prefix, delimiter) == ("", "/")
    assert "NAMESPACE" not in commands and 'LIST "" ""' in commands


def test_a_prefix_without_its_delimiter_gets_it() -> None:
    prefix, delimiter, commands = scripted_hierarchy("IMAP4rev1 NAMESPACE", '(("INBOX" "."))')
    assert (prefix, delimiter) == ("INBOX.", ".")
    assert 'LIST "" ""' not in commands


def test_an_empty_prefix_keeps_the_list_delimiter() -> None:
    prefix, delimiter, _ = scripted_hierarchy("IMAP4rev1 NAMESPACE", '(("" "."))')
    assert (prefix, delimiter) == ("", "/")  # what LIST "" "" says, as before NAMESPACE
