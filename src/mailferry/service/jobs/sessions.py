"""A batch user's sessions, opened from the stored settings (``UserSessions`` does the
opening and closing for every job: ``user_sessions``).

The password is decrypted here, at the last moment, and lives only in the credentials
handed to the connection layer. A claimed job's pairs come from the endpoint's
connection budget (``connection_budget``): its claim's one, and the extra ones the
budget leaves when the job starts, held until ``close``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mailferry.connection.options import ConnectOptions
from mailferry.errors import NotFound
from mailferry.service.context import ServiceContext
from mailferry.service.endpoints.manage import connect_options
from mailferry.service.jobs.connection_budget import PAIRS, take_extra_pairs
from mailferry.service.jobs.oauth_logins import batch_token_provider
from mailferry.service.jobs.target_limits import with_target_limits
from mailferry.service.jobs.user_sessions import UserSessions
from mailferry.service.migration_spec import SourceSpec, TargetSpec
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.state.migration_records import Batch, Endpoint, MigrationUser, TargetSettings
from mailferry.stores.logins import (
    AdminAuthzid,
    MasterUser,
    PerUser,
    StaticTokenProvider,
    TargetLogin,
    TokenProvider,
    UserFormat,
    XOAuth2,
)
from mailferry.values.connection import AuthMethod, Security


class EndpointPairs:
    """A claimed job's pairs: its claim's one and the extra ones the endpoint's budget
    leaves when the job starts (``connection_budget.take_extra_pairs``)."""

    def __init__(self, ctx: ServiceContext, endpoint: Endpoint, owner: str, user_id: int) -> None:
        self._ctx, self._endpoint, self._owner, self._user_id = ctx, endpoint, owner, user_id

    def take(self) -> int:
        return 1 + take_extra_pairs(self._ctx, self._endpoint, self._owner, self._user_id)

    def release(self) -> None:
        PAIRS.release(self._owner, self._endpoint.id, self._user_id)


class JobSessions(UserSessions):
    """A batch user's sessions, from the endpoint, the batch's target and the user row;
    a claimed job's pairs come from the endpoint's connection budget."""

    def __init__(self, ctx: ServiceContext, user: MigrationUser, batch: Batch) -> None:
        endpoint = ctx.store.endpoint_by_id(batch.source_endpoint_id)
        if endpoint is None:
            raise NotFound("migration endpoint", str(batch.source_endpoint_id))
        source = SourceSpec(connect_options(endpoint), AuthMethod.parse(endpoint.authentication))
        secret = None if batch.target_secret is None else ctx.vault.decrypt(batch.target_secret)
        row = MigrationUserRow(
            row=user.row,
            email_address=user.email_address,
            user_name=user.user_name,
            password=ctx.vault.decrypt(user.password_secret),
            user_root=user.user_root,
            target_user_name=user.target_user_name,
        )
        owner = user.claimed_by  # the job's claim (None: not a claimed job)
        budget = None if owner is None else EndpointPairs(ctx, endpoint, owner, user.id)
        provider = None
        if batch.target.login == "xoauth2" and batch.target.oauth_provider and secret:
            provider = batch_token_provider(ctx, batch, secret)  # shared by the batch's jobs
        target = target_spec(batch.target, secret, ctx.settings.ca_file, provider)
        target = with_target_limits(target, batch.target)
        super().__init__(source, target, row, budget)


def target_spec(
    settings: TargetSettings,
    secret: str | None,
    ca_file: Path | None,
    provider: TokenProvider | None = None,
) -> TargetSpec:
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
    login = _login(settings, secret or "", provider)
    return TargetSpec(imap=options, login=login, user_format=UserFormat(settings.user_format))


def _login(settings: TargetSettings, secret: str, provider: TokenProvider | None) -> TargetLogin:
    admin = settings.admin_user or ""
    if settings.login == "master-user":
        return MasterUser(admin, secret, settings.separator)
    if settings.login == "admin-authzid":
        return AdminAuthzid(admin, secret)
    if settings.login == "per-user":
        logins = {k: (v[0], v[1]) for k, v in json.loads(secret).items()}
        return PerUser(logins)
    return XOAuth2(provider or StaticTokenProvider(secret))
