"""Glue of the end-to-end tests: opening stores on the rig's servers, running a sync,
serving a Maildir written by MaildirTarget through Dovecot, running ``mailferry migrate``.

The rig's Dovecot serves ``maildir:~/Maildir`` from each user's home, so a Maildir
written by MaildirTarget is served by making that user's ``Maildir`` a symbolic link
to ``<root>/<address>`` (as tests/stores/test_maildir_dovecot.py does).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mailferry.connection.auth import Credentials
from mailferry.connection.options import ConnectOptions
from mailferry.engine.folder_types import FolderOptions
from mailferry.engine.sync import sync_mailbox
from mailferry.engine.verify import verify_mailbox
from mailferry.rig import DovecotServer
from mailferry.state.store import StateStore
from mailferry.stores.base import SourceMailbox, TargetMailbox
from mailferry.stores.imap_source import ImapSource, open_imap_source
from mailferry.stores.imap_target import ImapTarget, open_imap_target
from mailferry.stores.logins import MasterUser, target_credentials
from mailferry.stores.maildir_target import MaildirTarget
from mailferry.values.connection import Security
from mailferry.values.results import MailboxResult
from mailferry.values.sync_options import SyncOptions
from mailferry.values.verify_report import VerifyReport
from tests.conftest import MASTER_USER

MAILFERRY = [sys.executable, "-m", "mailferry"]
_addresses = itertools.count(1)


def new_address(prefix: str) -> str:
    return f"{prefix}{next(_addresses):03d}@integration.example"


def connect_options(server: DovecotServer) -> ConnectOptions:
    """Implicit TLS trusting the rig's CA, with short timeouts."""
    return ConnectOptions(
        server.host,
        server.imaps_port,
        security=Security.SSL,
        ca_file=server.ca_pem_path,
        connect_timeout=10,
        command_timeout=60,
    )


async def open_source(server: DovecotServer, credentials: Credentials) -> ImapSource:
    return await open_imap_source(connect_options(server), credentials)


async def open_master_target(server: DovecotServer, address: str) -> ImapTarget:
    """The target mailbox of ``address``, opened as ``address*admin`` (master user)."""
    login = MasterUser(MASTER_USER.name, MASTER_USER.password)
    credentials = await target_credentials(login, address)
    return await open_imap_target(connect_options(server), credentials, mailbox=address)


async def run_sync(
    source: SourceMailbox,
    target: TargetMailbox,
    state_path: Path,
    key: str,
    options: SyncOptions | None = None,
    folder_options: FolderOptions | None = None,
) -> MailboxResult:
    with StateStore.open(f"sqlite:///{state_path}") as state:
        return await sync_mailbox(
            source,
            target,
            state,
            key,
            folder_options=folder_options or FolderOptions(),
            options=options or SyncOptions(),
        )


async def run_verify(
    source: SourceMailbox, target: TargetMailbox, options: SyncOptions | None = None
) -> VerifyReport:
    return await verify_mailbox(
        source, target, folder_options=FolderOptions(), options=options or SyncOptions()
    )


def verify_problems(report: VerifyReport) -> list[str]:
    """What the verifier found wrong, folder by folder (empty when it says OK)."""
    return [
        f"{f.source_folder} -> {f.target_folder}: missing={len(f.missing)} "
        f"unexpected={len(f.unexpected)} flags={f.flag_mismatches[:2]} "
        f"dates={f.date_mismatches[:2]} error={f.error}"
        for f in report.folders
        if not f.ok
    ]


def maildir_mailbox(root: Path, address: str) -> TargetMailbox:
    return MaildirTarget(root).mailbox(address)


def serve_maildir(server: DovecotServer, root: Path, address: str, password: str) -> None:
    """Let ``server`` serve ``<root>/<address>`` as the mailbox of user ``address``."""
    server.add_user(address, password)
    maildir = server.user_mail_dir(address)
    maildir.parent.mkdir(parents=True, exist_ok=True)
    maildir.symlink_to(root / address)
    server.give_to_mail_user(server.user_home(address))
    server.give_to_mail_user(root)


def write_csv(path: Path, rows: Sequence[Sequence[str]], *, user_root: bool = False) -> Path:
    header = "EmailAddress,UserName,Password" + (",UserRoot" if user_root else "")
    lines = [header, *(",".join(row) for row in rows)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def migrate_args(
    source: DovecotServer, csv: Path, target: str, state: Path, report: Path
) -> list[str]:
    """``mailferry migrate`` with STARTTLS to ``source`` and a JSON report."""
    return [
        *MAILFERRY, "migrate",
        "--source-server", source.host, "--port", str(source.imap_port),
        "--security", "Tls", "--ca-file", str(source.ca_pem_path), "--csv", str(csv),
        "--target", target, "--state", str(state), "--report", str(report),
    ]  # fmt: skip


def run_migrate(args: Sequence[str], *, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
