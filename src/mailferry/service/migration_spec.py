"""Where a migration reads from and writes to, and how one user's sessions are opened.

Shared by the one-shot ``migrate``, ``verify`` and (later) the batch service:
a ``SourceSpec`` (the IMAP source endpoint) and a ``TargetSpec`` (a Maildir
root, or an IMAP server with a login mode), plus ``open_source`` /
``open_target`` for one CSV row.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mailferry.connection.options import ConnectOptions
from mailferry.engine.folder_placement import MaildirLayout
from mailferry.engine.folder_types import TargetLayout
from mailferry.engine.target_presets import TargetPreset
from mailferry.errors import MailferryError, TargetSpecError
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.stores.bandwidth import Bandwidth, paced
from mailferry.stores.base import SourceMailbox, TargetMailbox
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.stores.logins import (
    ADDRESS,
    TargetLogin,
    UserFormat,
    source_credentials,
    target_credentials,
)
from mailferry.stores.maildir_target import MaildirTarget
from mailferry.values.connection import AuthMethod, Security, default_port


@dataclass(frozen=True)
class SourceSpec:
    """The source IMAP server; each user logs in with the CSV's UserName/Password."""

    options: ConnectOptions
    authentication: AuthMethod = AuthMethod.BASIC

    def describe(self) -> str:
        return f"imap://{self.options.host}:{self.options.port}"


@dataclass(frozen=True)
class TargetSpec:
    """Either ``maildir_root`` or ``imap`` (with ``login``) is set."""

    maildir_root: Path | None = None
    imap: ConnectOptions | None = None
    login: TargetLogin | None = field(default=None, repr=False)
    user_format: UserFormat = ADDRESS
    preset: TargetPreset | None = None
    bandwidth: Bandwidth | None = None

    @property
    def layout(self) -> TargetLayout | None:
        """The target's naming rules: Maildir++'s, or None for the IMAP defaults; with
        a preset, its rules on top (the IMAP delimiter is the server's, at login)."""
        base = MaildirLayout() if self.maildir_root is not None else None
        if self.preset is None:
            return base
        return self.preset.layout(base or TargetLayout("/"))

    def login_name(self, row: MigrationUserRow) -> str:
        """The name the target knows the row's mailbox by: the CSV's TargetUserName, or
        ``user_format`` applied to its address."""
        return row.target_user_name or self.user_format.name(row.email_address)

    def describe(self) -> str:
        if self.maildir_root is not None:
            return f"maildir:{self.maildir_root}"
        assert self.imap is not None
        return f"imap://{self.imap.host}:{self.imap.port}"


def parse_target(
    text: str, *, security: Security = Security.NONE, ca_file: Path | None = None,
    accept_untrusted_certificates: bool = False, login: TargetLogin | None = None,
    user_format: UserFormat = ADDRESS,
) -> TargetSpec:  # fmt: skip
    """``maildir:PATH`` or ``imap://HOST[:PORT]`` (``imaps://`` implies Ssl)."""
    if text.startswith("maildir:"):
        root = text.removeprefix("maildir:")
        if not root:
            raise TargetSpecError("--target maildir: needs a path, e.g. maildir:/srv/mail")
        return TargetSpec(maildir_root=Path(root).expanduser())
    parts = urlsplit(text)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise TargetSpecError(f"--target {text!r} is neither maildir:PATH nor imap://HOST:PORT")
    if parts.scheme == "imaps":
        security = Security.SSL
    if login is None:
        raise TargetSpecError("an IMAP target needs a login mode (--target-login)")
    options = ConnectOptions(
        host=parts.hostname,
        port=parts.port or default_port(security),
        security=security,
        ca_file=ca_file,
        accept_untrusted_certificates=accept_untrusted_certificates,
    )
    return TargetSpec(imap=options, login=login, user_format=user_format)


def mailbox_key(source: SourceSpec, target: TargetSpec, row: MigrationUserRow) -> str:
    """Identifies one user's migration in the state database."""
    return user_mailbox_key(source.describe(), target.describe(), row)


def user_mailbox_key(source: str, target: str, row: MigrationUserRow) -> str:
    """The key from the two sides' descriptions (``imap://host:port``, ``maildir:PATH``):
    the one-shot ``migrate`` and the batch service give the same user the same key."""
    root = f"#{row.user_root}" if row.user_root else ""
    known_as = f"={row.target_user_name}" if row.target_user_name else ""
    return f"{source}/{row.user_name}{root} -> {target}/{row.email_address}{known_as}"


async def open_source(source: SourceSpec, row: MigrationUserRow) -> SourceMailbox:
    credentials = source_credentials(row.user_name, row.password, source.authentication)
    return await open_imap_source(source.options, credentials)


async def open_target(target: TargetSpec, row: MigrationUserRow) -> TargetMailbox:
    """One user's target session, with the bandwidth caps if there are any."""
    opened = await _open_target(target, row)
    return paced(opened, target.bandwidth, target.describe(), row.email_address)


async def _open_target(target: TargetSpec, row: MigrationUserRow) -> TargetMailbox:
    if target.maildir_root is not None:
        return MaildirTarget(target.maildir_root).mailbox(row.email_address)
    assert target.imap is not None and target.login is not None
    credentials = await target_credentials(target.login, row.email_address, target.login_name(row))
    return await open_imap_target(target.imap, credentials, mailbox=row.email_address)


async def open_pair(
    source: SourceSpec, target: TargetSpec, row: MigrationUserRow
) -> tuple[SourceMailbox, TargetMailbox]:
    """Both of one user's sessions; the source is closed again if the target fails."""
    opened = await open_source(source, row)
    try:
        return opened, await open_target(target, row)
    except BaseException:
        with contextlib.suppress(MailferryError, OSError):
            await opened.close()
        raise
