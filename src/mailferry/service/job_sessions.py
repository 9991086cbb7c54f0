"""The source and target sessions of one user's job, opened from the stored settings.

The password is decrypted here, at the last moment, and lives only in the
credentials handed to the connection layer.

Connections (issue 10). MaxConcurrentMigrations bounds the *source connections* of the
endpoint, not only its jobs: a job's first session pair is the one its claim stands for
(claims count jobs, as Exchange's cap counts mailboxes), and the extra pairs that copy
folders in parallel (up to ``connections_per_mailbox`` - 1) are opened only when the
endpoint's budget leaves room. A job takes them when it starts and holds them until it
ends; claims count them too (``claim_budget``). This process knows its own pairs
exactly (``PAIRS``); a job another worker claimed counts as ``connections_per_mailbox``
(it may open that many), so the budget holds across processes sharing the database.
So while the endpoint has more users to run than its cap, each job copies over one
connection; a lone job (a small batch, the last users) gets its extra pairs.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from sqlalchemy import Connection

from mailferry.connection.auth import AuthMethod
from mailferry.connection.options import ConnectOptions, Security
from mailferry.errors import MailferryError
from mailferry.service.context import ServiceContext
from mailferry.service.csv_import import MigrationUserRow
from mailferry.service.endpoints import connect_options
from mailferry.service.migration_spec import SourceSpec, TargetSpec, open_pair
from mailferry.service.service_errors import NotFound
from mailferry.state.listing_queries import live_claims_by_owner
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


class PairLedger:
    """The session pairs this process's jobs hold, per (claim owner, endpoint) and user:
    what the database can't see (a live claim stands for one pair)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, int], dict[int, int]] = {}

    def held(self, owner: str, endpoint_id: int) -> dict[int, int]:
        with self._lock:
            return dict(self._held.get((owner, endpoint_id), {}))

    def hold(self, owner: str, endpoint_id: int, user_id: int, pairs: int) -> None:
        with self._lock:
            self._held.setdefault((owner, endpoint_id), {})[user_id] = pairs

    def release(self, owner: str, endpoint_id: int, user_id: int) -> None:
        with self._lock:
            held = self._held.get((owner, endpoint_id), {})
            held.pop(user_id, None)
            if not held:
                self._held.pop((owner, endpoint_id), None)


PAIRS = PairLedger()


def connections_in_use(
    held: Mapping[int, int], mine: Collection[int], others: int, per_job: int
) -> int:
    """The endpoint's source connections as one process counts them: its claimed jobs
    that hold no session yet (their claim: one each), the pairs its jobs hold (``held``,
    also while a finished job closes them after releasing its claim), and ``per_job``
    for each live claim of another owner."""
    return len(set(mine) - set(held)) + sum(held.values()) + per_job * others


def claim_budget(ctx: ServiceContext, endpoint_id: int, owner: str) -> Callable[[Connection], int]:
    """``ServiceStore.claim(beyond=...)``: the connections in use beyond one per live
    claim, counted inside the claim's transaction (so other workers' claims are current)."""
    per_job = max(1, ctx.settings.connections_per_mailbox)

    def beyond(connection: Connection) -> int:
        mine, others = live_claims_by_owner(connection, endpoint_id, owner, ctx.now())
        used = connections_in_use(PAIRS.held(owner, endpoint_id), mine, others, per_job)
        return used - len(mine) - others

    return beyond


class JobSessions:
    def __init__(self, ctx: ServiceContext, user: MigrationUser, batch: Batch) -> None:
        endpoint = ctx.store.endpoint_by_id(batch.source_endpoint_id)
        if endpoint is None:
            raise NotFound("migration endpoint", str(batch.source_endpoint_id))
        self._ctx = ctx
        self._endpoint_id = endpoint.id
        self._limit = endpoint.max_concurrent_migrations
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
        self.connections = 1 + self._take_extra_pairs()
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
            PAIRS.release(self._owner, self._endpoint_id, self._user_id)

    def _take_extra_pairs(self) -> int:
        """Hold the pair just opened, and as many extra pairs as the endpoint's budget
        leaves (at most ``connections_per_mailbox`` - 1); how many extra."""
        if self._owner is None:
            return 0
        owner, endpoint_id, per_job = self._owner, self._endpoint_id, self._per_job
        mine, others = self._ctx.store.live_claims_by_owner(endpoint_id, owner, self._ctx.now())
        held = {**PAIRS.held(owner, endpoint_id), self._user_id: 1}
        used = connections_in_use(held, mine, others, per_job)
        extra = max(0, min(per_job - 1, self._limit - used))
        PAIRS.hold(owner, endpoint_id, self._user_id, 1 + extra)
        return extra

    @property
    def _per_job(self) -> int:
        return max(1, self._ctx.settings.connections_per_mailbox)


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
