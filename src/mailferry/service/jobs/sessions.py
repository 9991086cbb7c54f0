"""The source and target sessions of one user's job, opened from the stored settings.

The password is decrypted here, at the last moment, and lives only in the
credentials handed to the connection layer.

The engine may copy folders in parallel over ``connections``: one pair, plus the
extra pairs the endpoint's connection budget allowed when the job started
(``connection_budget``), held until ``close``.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from mailferry.connection.auth import AuthMethod
from mailferry.connection.options import ConnectOptions, Security
from mailferry.errors import MailferryError
from mailferry.service.context import ServiceContext
from mailferry.service.endpoints.manage import connect_options
from mailferry.service.jobs.connection_budget import PAIRS, take_extra_pairs
from mailferry.service.migration_spec import SourceSpec, TargetSpec, open_pair
from mailferry.service.service_errors import NotFound
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.state.migration_records import Batch, MigrationUser, TargetSettings
from mailferry.stores.base import SourceMailbox, TargetMailbox
from mailferry.stores.logins import (
    AdminAuthzid,
    MasterUser,
    PerUser,
    StaticTokenProvider,
    TargetLogin,
    XOAuth2,
)


class JobSessions:
    def __init__(self, ctx: ServiceContext, user: MigrationUser, batch: Batch) -> None:
        endpoint = ctx.store.endpoint_by_id(batch.source_endpoint_id)
        if endpoint is None:
            raise NotFound("migration endpoint", str(batch.source_endpoint_id))
        self._ctx = ctx
        self._endpoint = endpoint
        self._owner = user.claimed_by  # the job's claim (None: not a claimed job)
        self._user_id = user.id
        self.connections = 1
        """Session pairs the engine may use (set by ``open``)."""
        self.source = SourceSpec(
            connect_options(endpoint), AuthMethod.parse(endpoint.authentication)
        )
        secret = None if batch.target_secret is None else ctx.vault.decrypt(batch.target_secret)
        self.target = target_spec(batch.target, secret, ctx.settings.ca_file)
        self.row = MigrationUserRow(
            row=user.row,
            email_address=user.email_address,
            user_name=user.user_name,
            password=ctx.vault.decrypt(user.password_secret),
            user_root=user.user_root,
        )
        self.opened: list[SourceMailbox | TargetMailbox] = []

    async def open(self) -> tuple[SourceMailbox, TargetMailbox]:
        """Log in on both sides (the validation step: a wrong password or a missing
        target mailbox fails here, before anything is copied); closed by ``close``."""
        pair = await self.open_more()
        self.opened.extend(pair)
        if self._owner is not None:
            extra = take_extra_pairs(self._ctx, self._endpoint, self._owner, self._user_id)
            self.connections = 1 + extra
        return pair

    async def open_more(self) -> tuple[SourceMailbox, TargetMailbox]:
        """One more session pair for parallel folders: the engine closes it."""
        return await open_pair(self.source, self.target, self.row)

    async def close(self) -> None:
        for store in reversed(self.opened):
            with contextlib.suppress(MailferryError, OSError):
                await store.close()
        self.opened.clear()
        if self._owner is not None:
            PAIRS.release(self._owner, self._endpoint.id, self._user_id)


def target_spec(settings: TargetSettings, secret: str | None, ca_file: Path | None) -> TargetSpec:
    if settings.kind == "maildir":
        assert settings.maildir_root is not None
        return TargetSpec(maildir_root=Path(settings.maildir_root))
    assert settings.host is not None and settings.port is not None
    options = ConnectOptions(
        host=settings.host,
        port=settings.port,
        security=Security.parse(settings.security),
        accept_untrusted_certificates=settings.accept_untrusted_certificates,
        ca_file=Path(settings.ca_file) if settings.ca_file else ca_file,
    )
    return TargetSpec(imap=options, login=_login(settings, secret or ""))


def _login(settings: TargetSettings, secret: str) -> TargetLogin:
    admin = settings.admin_user or ""
    if settings.login == "master-user":
        return MasterUser(admin, secret, settings.separator)
    if settings.login == "admin-authzid":
        return AdminAuthzid(admin, secret)
    if settings.login == "per-user":
        logins = {k: (v[0], v[1]) for k, v in json.loads(secret).items()}
        return PerUser(logins)
    return XOAuth2(StaticTokenProvider(secret))
