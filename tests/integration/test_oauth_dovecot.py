"""OAuth2 that lasts, against a real Dovecot: migrations that outlive their tokens.

Dovecot is real: its ``oauth2`` passdb checks every XOAUTH2 login at an introspection
endpoint. The token service is a FAKE of the cloud's (``rig.token_server``: Entra's
and Google's token endpoints, a refresh-token grant, the introspection Dovecot calls),
issuing tokens that live 2 s; MSAL and google-auth talk to it over https as they would
to login.microsoftonline.com and oauth2.googleapis.com (their authority and
``token_uri`` overrides). Between mailferry and Dovecot stands a FAKE of Exchange
Online's front door (``rig.token_gate``): it binds an app token to the mailbox XOAUTH2
names and ends a session whose token has expired (BYE AccessTokenExpired, or NO to
every command), which Dovecot, checking tokens only at login, never does; it also holds
each APPEND 0.3 s, so a migration of 36 messages lasts several tokens.

Each migration runs through ``sync_user_mailbox``, the one way jobs reach the engine:
it must end Synced, byte-exact on the target (no message missing, none twice), with the
tokens counted at the fake.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailferry.connection.options import ConnectOptions
from mailferry.engine.folder_types import FolderOptions
from mailferry.errors import TokenRefused
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, RigCA, generate
from mailferry.rig.config import OAuth2Passdb
from mailferry.rig.token_gate import OnExpiry, TokenGate
from mailferry.rig.token_server import EntraApp, RefreshGrant, ServiceAccount, TokenServer
from mailferry.service.jobs.mailbox_sync import MailboxSync, SyncOutcome, sync_user_mailbox
from mailferry.service.jobs.sessions import UserSessions
from mailferry.service.migration_spec import SourceSpec, TargetSpec
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.state.store import StateStore
from mailferry.stores.logins import TokenProvider, XOAuth2
from mailferry.stores.oauth.cache import CachedTokenProvider, Grant
from mailferry.stores.oauth.renewal import RENEWALS_WITHOUT_PROGRESS
from mailferry.stores.oauth.settings import provider_from_settings
from mailferry.values.connection import Security
from mailferry.values.sync_options import SyncOptions
from tests.conftest import MakeUser
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view
from tests.integration.support import connect_options

LIFETIME = 2
APPEND_DELAY = 0.3
TENANT = "contoso-tenant"
FOLDERS = ("INBOX", "Archive")
SLOW_SYNC = SyncOptions(batch_count=2, append_window=1, batch_linger=0.05)


@pytest.fixture(scope="module")
def tokens(test_ca: RigCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    directory = tmp_path_factory.mktemp("token-server")
    with TokenServer(lifetime=LIFETIME, ca=test_ca, directory=directory) as server:
        yield server


@pytest.fixture(scope="module")
def oauth_dovecot(tokens: TokenServer, test_ca: RigCA) -> Iterator[DovecotServer]:
    root = Path(tempfile.mkdtemp(prefix="mailferry-rig-oauth-"))
    root.chmod(0o755)
    passdb = OAuth2Passdb(tokens.introspection_url, test_ca.ca_pem_path)
    server = DovecotServer(root, test_ca, name="oauth", oauth2=passdb)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _user(make_user: MakeUser, source: DovecotServer, target: DovecotServer, n: int) -> RigAccount:
    """A source mailbox of ``n`` messages in two folders, every one to be copied (none
    malformed, none ``\\Deleted``)."""
    account = make_user("oauth-", servers=(source, target))
    spec = CorpusSpec(
        seed=4100 + n, messages=n, folders=FOLDERS, malformed_fraction=0.0, deleted_fraction=0.0
    )
    source.write_maildir(account.name, generate(spec))
    return account


def _sync(
    source: DovecotServer,
    gate: TokenGate,
    provider: TokenProvider,
    account: RigAccount,
    state: Path,
) -> SyncOutcome:
    target = ConnectOptions(
        "127.0.0.1", gate.port, security=Security.NONE, connect_timeout=10, command_timeout=30
    )
    row = MigrationUserRow(2, account.name, account.name, account.password)
    specs = (SourceSpec(connect_options(source)), TargetSpec(imap=target, login=XOAuth2(provider)))
    sync = MailboxSync(f"oauth/{account.name}", FolderOptions(), SLOW_SYNC)

    async def run() -> SyncOutcome:
        with StateStore.open(f"sqlite:///{state}") as store:
            return await sync_user_mailbox(lambda: UserSessions(*specs, row), store, sync)

    return asyncio.run(run())


def _assert_exact(outcome: SyncOutcome, source: DovecotServer, target: DovecotServer,
                  account: RigAccount, messages: int) -> None:  # fmt: skip
    assert outcome.error is None and outcome.result is not None, outcome.error
    assert outcome.result.complete and outcome.result.skipped_total == 0
    login = Login(account.name, account.password)
    own = migrated(read_view(source, login))
    assert count(own) == messages
    assert differences(own, non_empty(read_view(target, login))) == []


def _gate(
    oauth_dovecot: DovecotServer, tokens: TokenServer, on_expiry: OnExpiry, *, slow: bool = True
) -> TokenGate:
    delay = {"APPEND": APPEND_DELAY} if slow else {}
    return TokenGate(oauth_dovecot.host, oauth_dovecot.imap_port, tokens,
                     on_expiry=on_expiry, command_delay=delay)  # fmt: skip


def test_an_entra_app_migration_outlives_its_tokens_bye_on_expiry(
    dovecot_source: DovecotServer,
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    test_ca: RigCA,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = _user(make_user, dovecot_source, oauth_dovecot, 36)
    app = EntraApp(TENANT, "app-bye", secret="entra-s3cret", mailboxes=frozenset({account.name}))
    tokens.add_entra_app(app)
    provider = provider_from_settings("entra", {
        "tenant": TENANT, "client_id": app.client_id, "client_secret": "entra-s3cret",
        "authority_host": tokens.base_url, "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    before = len(tokens.issued("entra"))
    with _gate(oauth_dovecot, tokens, "bye") as gate:
        outcome = _sync(dovecot_source, gate, provider, account, tmp_path / "state.db")
    _assert_exact(outcome, dovecot_source, oauth_dovecot, account, 36)
    issued = tokens.issued("entra")[before:]
    assert gate.expiries >= 2  # sessions ended by the front door (the last one's LOGOUT too)
    assert len(issued) == provider.requests == gate.logins >= 3  # a fresh token per login
    assert {token.client for token in issued} == {app.client_id}


def test_a_google_delegated_migration_outlives_its_tokens_no_after_expiry(
    dovecot_source: DovecotServer,
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    test_ca: RigCA,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = _user(make_user, dovecot_source, oauth_dovecot, 16)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = "migrator@project.iam.gserviceaccount.example"
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tokens.add_service_account(ServiceAccount(email, public.decode(), frozenset({account.name})))
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(_key_file(email, key, tokens.token_uri)))
    provider = provider_from_settings("google", {
        "service_account_file": str(key_file), "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    before = len(tokens.issued("google"))
    with _gate(oauth_dovecot, tokens, "no") as gate:
        outcome = _sync(dovecot_source, gate, provider, account, tmp_path / "state.db")
    _assert_exact(outcome, dovecot_source, oauth_dovecot, account, 16)
    issued = tokens.issued("google")[before:]
    assert gate.expiries >= 1 and gate.logins >= 2
    assert len(issued) >= 2 and {token.user for token in issued} == {account.name}


def _key_file(email: str, key: rsa.RSAPrivateKey, token_uri: str) -> dict[str, str]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "type": "service_account",
        "project_id": "project",
        "private_key_id": "k1",
        "private_key": pem.decode(),
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


def test_a_token_revoked_before_login_is_replaced_once(
    dovecot_source: DovecotServer,
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    test_ca: RigCA,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = _user(make_user, dovecot_source, oauth_dovecot, 6)
    refresh = tokens.add_refresh_grant(RefreshGrant("imap-app", "rt-s3cret", account.name))
    provider = provider_from_settings("refresh-token", {
        "token_url": tokens.token_uri, "client_id": "imap-app", "client_secret": "rt-s3cret",
        "refresh_tokens": json.dumps({account.name: refresh}),
        "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    first = asyncio.run(provider.token(account.name))
    tokens.revoke(first)  # revoked at the server, still fresh in the cache
    with _gate(oauth_dovecot, tokens, "bye", slow=False) as gate:
        outcome = _sync(dovecot_source, gate, provider, account, tmp_path / "state.db")
    _assert_exact(outcome, dovecot_source, oauth_dovecot, account, 6)
    assert provider.requests == 2 and gate.logins == 1


class _RefusedTokens:
    """A token source whose tokens the server never accepts (not issued by the fake)."""

    def __init__(self) -> None:
        self.forced: list[bool] = []

    async def fetch(self, user: str, *, forced: bool) -> Grant:
        self.forced.append(forced)
        return Grant(f"never-issued-{len(self.forced)}", 3600)


def test_a_provider_whose_tokens_are_always_refused_gives_up(
    dovecot_source: DovecotServer,
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = _user(make_user, dovecot_source, oauth_dovecot, 3)
    source = _RefusedTokens()
    with _gate(oauth_dovecot, tokens, "bye", slow=False) as gate:
        outcome = _sync(
            dovecot_source, gate, CachedTokenProvider(source), account, tmp_path / "s.db"
        )
    assert isinstance(outcome.error, TokenRefused), outcome.error
    assert source.forced == [False] + [True] * RENEWALS_WITHOUT_PROGRESS
    assert gate.logins == 0


def test_an_app_not_granted_the_mailbox_is_refused_at_login(
    dovecot_source: DovecotServer,
    oauth_dovecot: DovecotServer,
    tokens: TokenServer,
    test_ca: RigCA,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    account = _user(make_user, dovecot_source, oauth_dovecot, 2)
    tokens.add_entra_app(EntraApp(TENANT, "app-elsewhere", secret="s", mailboxes=frozenset()))
    provider = provider_from_settings("entra", {
        "tenant": TENANT, "client_id": "app-elsewhere", "client_secret": "s",
        "authority_host": tokens.base_url, "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    with _gate(oauth_dovecot, tokens, "bye", slow=False) as gate:
        outcome = _sync(dovecot_source, gate, provider, account, tmp_path / "s.db")
    assert isinstance(outcome.error, TokenRefused), outcome.error
    assert "AUTHENTICATIONFAILED" in outcome.error.reason
    assert provider.requests == 1 + RENEWALS_WITHOUT_PROGRESS and gate.logins == 0
    assert tokens.introspections[-1] == ("", False)
