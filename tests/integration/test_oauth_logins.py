"""XOAUTH2 with renewing tokens through the interfaces: a batch through the façade and a
one-shot ``mailferry migrate``, into a real Dovecot whose ``oauth2`` passdb checks each
token at the rig's token server.

The token server is a FAKE of an OAuth2 server's refresh-token grant and introspection
(``rig.token_server``); it rotates the refresh token at every use, as servers that
rotate do, so a run that kept using the first one would be refused. Dovecot is real.
Tokens are counted at the fake: a batch's jobs share one cache, so each mailbox needs
one token per lifetime however many sessions and jobs log it in. The secrets (client
secret, refresh tokens) must appear in no view, report, output or the database in clear.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailferry.app import BatchChanges, BatchRequest, EndpointRequest, Mailferry, TargetRequest
from mailferry.errors import InvalidSetting
from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, RigCA, generate
from mailferry.rig.config import OAuth2Passdb
from mailferry.rig.token_server import RefreshGrant, TokenServer
from mailferry.service.vault import Vault
from tests.app.conftest import FAST
from tests.conftest import MakeUser
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view
from tests.interfaces.cli_service_support import make_mailferry

LIFETIME = 30  # seconds: longer than each run here, so the counts are exact
CLIENT_ID = "imap-migrator"
CLIENT_SECRET = "rt-client-s3cret-4711"
DOMAIN = "oauth.example"
MAILFERRY = [sys.executable, "-m", "mailferry"]


@pytest.fixture(scope="module")
def tokens(test_ca: RigCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    directory = tmp_path_factory.mktemp("token-server")
    with TokenServer(lifetime=LIFETIME, ca=test_ca, directory=directory) as server:
        yield server


@pytest.fixture(scope="module")
def oauth_target(tokens: TokenServer, test_ca: RigCA) -> Iterator[DovecotServer]:
    root = Path(tempfile.mkdtemp(prefix="mailferry-rig-oauth-logins-"))
    root.chmod(0o755)
    passdb = OAuth2Passdb(tokens.introspection_url, test_ca.ca_pem_path)
    server = DovecotServer(root, test_ca, name="oauth-logins", oauth2=passdb)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _users(
    make_user: MakeUser, source: DovecotServer, target: DovecotServer, tokens: TokenServer,
    n: int, *, seed: int,
) -> tuple[list[tuple[RigAccount, str]], dict[str, str]]:  # fmt: skip
    """``n`` source users with mail, each with a target mailbox named by its address
    and a rotating refresh token; the refresh tokens by address."""
    users, refresh = [], {}
    for i in range(n):
        account = make_user("oauthl-", servers=(source,))
        source.write_maildir(account.name, generate(CorpusSpec(seed=seed + i, messages=6,
                                                               deleted_fraction=0.0)))  # fmt: skip
        address = f"{account.name}@{DOMAIN}"
        target.add_user(address, f"target-{account.password}")
        grant = RefreshGrant(CLIENT_ID, CLIENT_SECRET, address, rotate=True)
        refresh[address] = tokens.add_refresh_grant(grant)
        users.append((account, address))
    return users, refresh


def _csv(users: list[tuple[RigAccount, str]]) -> bytes:
    lines = ["EmailAddress,UserName,Password"]
    lines += [f"{address},{account.name},{account.password}" for account, address in users]
    return ("\r\n".join(lines) + "\r\n").encode()


def _assert_exact(source: DovecotServer, target: DovecotServer, account: RigAccount,
                  address: str) -> None:  # fmt: skip
    own = migrated(read_view(source, Login(account.name, account.password)))
    copied = non_empty(read_view(target, Login(address, f"target-{account.password}")))
    assert count(own) > 0 and differences(own, copied) == []


def _introspected(tokens: TokenServer, addresses: set[str]) -> int:
    return sum(1 for user, active in tokens.introspections if active and user in addresses)


def _issued(tokens: TokenServer, addresses: set[str]) -> int:
    return sum(1 for issued in tokens.issued("refresh-token") if issued.user in addresses)


def test_a_batch_logs_in_with_renewing_tokens_kept_in_the_vault(
    dovecot_source: DovecotServer, oauth_target: DovecotServer, tokens: TokenServer,
    test_ca: RigCA, make_user: MakeUser, tmp_path: Path,
) -> None:  # fmt: skip
    users, refresh = _users(make_user, dovecot_source, oauth_target, tokens, 3, seed=7100)
    addresses = {address for _, address in users}
    env = {
        "MAILFERRY_HOME": str(tmp_path / "home"),
        "MAILFERRY_KEY": Vault.generate_key().decode(),
        "MAILFERRY_OAUTH_REFRESH_TOKENS": json.dumps(refresh),  # a secret from the environment
    }
    db = tmp_path / "mailferry.db"
    target = TargetRequest(
        f"imap://127.0.0.1:{oauth_target.imap_port}",
        login="xoauth2",
        oauth_provider="refresh-token",
        oauth_settings={"token_url": tokens.token_uri, "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET, "ca_file": str(test_ca.ca_pem_path)},
    )  # fmt: skip
    with Mailferry.open(f"sqlite:///{db}", env, changes=FAST) as app:
        endpoint = EndpointRequest("Src", "127.0.0.1", port=dovecot_source.imaps_port,
                                   ca_file=str(dovecot_source.ca_pem_path))  # fmt: skip
        asyncio.run(app.new_endpoint(endpoint))
        made = app.new_batch(BatchRequest("Cloud", "Src", _csv(users), target=target,
                                          auto_start=True))  # fmt: skip
        asyncio.run(app.run_here(["Cloud"]))
        assert app.get_batch("Cloud")["Status"] == "Synced", app.batch_progress(["Cloud"])
        first_logins = _introspected(tokens, addresses)
        assert _issued(tokens, addresses) == 3 < first_logins  # one token per mailbox
        app.sync_batch("Cloud")
        asyncio.run(app.run_here(["Cloud"]))  # new jobs, the same shared cache
        assert app.get_batch("Cloud")["Status"] == "Synced"
        assert _introspected(tokens, addresses) >= first_logins + 3
        assert _issued(tokens, addresses) == 3
        views = json.dumps([made, app.get_batches(), app.batch_progress(["Cloud"]),
                            [app.get_user(a) for a in addresses],
                            app.events(after=0, limit=1000)], default=str)  # fmt: skip
    # Another process: a new cache, the refresh tokens the server rotated from the vault
    # (the first ones are retired: the batch would fail had they not been written back).
    with Mailferry.open(f"sqlite:///{db}", env, changes=FAST) as app:
        app.sync_batch("Cloud")
        asyncio.run(app.run_here(["Cloud"]))
        assert app.get_batch("Cloud")["Status"] == "Synced", app.batch_progress(["Cloud"])
    assert _issued(tokens, addresses) == 6 and "invalid_grant" not in tokens.refusals
    for account, address in users:
        _assert_exact(dovecot_source, oauth_target, account, address)
    access = [i.token for i in tokens.issued("refresh-token") if i.user in addresses]
    stored = db.read_bytes()
    for secret in [CLIENT_SECRET, *refresh.values(), *access]:
        assert secret not in views and secret.encode() not in stored


def test_users_added_later_get_their_refresh_tokens_with_set_batch(
    dovecot_source: DovecotServer, oauth_target: DovecotServer, tokens: TokenServer,
    test_ca: RigCA, make_user: MakeUser, tmp_path: Path,
) -> None:  # fmt: skip
    """``add_users`` brings a mailbox the batch has no refresh token for: its job fails
    naming that, until ``set_batch`` merges the token into the vault (the first user's
    token, rotated meanwhile, is kept); then the new user syncs and the first one too,
    in the same process (the provider is made again for the new settings)."""
    first, refresh = _users(make_user, dovecot_source, oauth_target, tokens, 1, seed=7300)
    later, later_refresh = _users(make_user, dovecot_source, oauth_target, tokens, 1, seed=7301)
    env = {"MAILFERRY_HOME": str(tmp_path / "home"), "MAILFERRY_KEY": Vault.generate_key().decode()}
    target = TargetRequest(
        f"imap://127.0.0.1:{oauth_target.imap_port}", login="xoauth2",
        oauth_provider="refresh-token",
        oauth_settings={"token_url": tokens.token_uri, "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET, "ca_file": str(test_ca.ca_pem_path),
                        "refresh_tokens": refresh},
    )  # fmt: skip
    with Mailferry.open(f"sqlite:///{tmp_path / 'm.db'}", env, changes=FAST) as app:
        endpoint = EndpointRequest("Src", "127.0.0.1", port=dovecot_source.imaps_port,
                                   ca_file=str(dovecot_source.ca_pem_path))  # fmt: skip
        asyncio.run(app.new_endpoint(endpoint))
        app.new_batch(BatchRequest("Later", "Src", _csv(first), target=target, auto_start=True))
        asyncio.run(app.run_here(["Later"]))
        app.add_users("Later", _csv(later))
        [(_account, address)] = later
        asyncio.run(app.run_here(["Later"]))
        failed = app.get_user(address)
        assert failed["Status"] == "Failed" and "refresh token" in str(failed["Error"]), failed
        with pytest.raises(InvalidSetting, match="refresh_tokens"):
            app.set_batch("Later", BatchChanges(target=TargetRequest(
                oauth_settings={"refresh_tokens": "not json"})))  # fmt: skip
        app.set_batch("Later", BatchChanges(target=TargetRequest(
            oauth_settings={"refresh_tokens": later_refresh})))  # fmt: skip
        app.start_batch("Later")  # retries the failed user
        asyncio.run(app.run_here(["Later"]))
        users = {u["EmailAddress"]: u for u in app.get_users(batch="Later")["Items"]}
        assert {a: u["Status"] for a, u in users.items()} == dict.fromkeys(
            [first[0][1], address], "Synced"
        ), users
        assert CLIENT_SECRET not in json.dumps(app.get_batch("Later"))
    assert "invalid_grant" not in tokens.refusals
    for account, mailbox in (*first, *later):
        _assert_exact(dovecot_source, oauth_target, account, mailbox)


def test_one_shot_migrate_with_a_refresh_token_provider(
    dovecot_source: DovecotServer, oauth_target: DovecotServer, tokens: TokenServer,
    test_ca: RigCA, make_user: MakeUser, tmp_path: Path,
) -> None:  # fmt: skip
    users, refresh = _users(make_user, dovecot_source, oauth_target, tokens, 2, seed=7200)
    addresses = {address for _, address in users}
    csv = tmp_path / "users.csv"
    csv.write_bytes(_csv(users))
    settings = tmp_path / "oauth.json"
    settings.write_text(json.dumps({"client_secret": CLIENT_SECRET, "refresh_tokens": refresh}))
    args = [
        "migrate", "--source-server", "127.0.0.1", "--port", str(dovecot_source.imap_port),
        "--security", "Tls", "--ca-file", str(dovecot_source.ca_pem_path), "--csv", str(csv),
        "--target", f"imap://127.0.0.1:{oauth_target.imap_port}", "--target-login", "xoauth2",
        "--oauth-provider", "refresh-token", "--oauth-settings-file", str(settings),
        "--oauth-setting", f"token_url={tokens.token_uri}", "--oauth-setting",
        f"client_id={CLIENT_ID}", "--oauth-setting", f"ca_file={test_ca.ca_pem_path}",
        "--state", str(tmp_path / "state.db"), "--processes", "2",
        "--report", str(tmp_path / "report.json"),
    ]  # fmt: skip
    done = subprocess.run([*MAILFERRY, *args], capture_output=True, text=True, timeout=300,
                          check=False, env=dict(os.environ))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 synced, 0 incomplete, 0 failed." in done.stdout
    assert _issued(tokens, addresses) == 2 < _introspected(tokens, addresses)
    for account, address in users:
        _assert_exact(dovecot_source, oauth_target, account, address)
    output = done.stdout + done.stderr + (tmp_path / "report.json").read_text()
    stored = (tmp_path / "state.db").read_bytes()
    for secret in [CLIENT_SECRET, *refresh.values()]:
        assert secret not in output and secret.encode() not in stored
    # The server rotated each refresh token: the new ones are in the settings file (the
    # worker processes wrote them), so the next run is not refused.
    kept = json.loads(settings.read_text())
    assert kept["client_secret"] == CLIENT_SECRET and kept["refresh_tokens"].keys() == addresses
    assert not set(kept["refresh_tokens"].values()) & set(refresh.values())
    assert settings.stat().st_mode & 0o077 == 0
    again = subprocess.run([*MAILFERRY, *args], capture_output=True, text=True, timeout=300,
                           check=False, env=dict(os.environ))  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert _issued(tokens, addresses) == 4 and "invalid_grant" not in tokens.refusals


def test_a_secret_is_never_an_option_value(tmp_path: Path) -> None:
    csv = tmp_path / "users.csv"
    csv.write_text("EmailAddress,UserName,Password\r\na@x.example,a,pw\r\n")
    args = ["migrate", "--source-server", "127.0.0.1", "--csv", str(csv), "--target",
            "imap://127.0.0.1:1", "--target-login", "xoauth2", "--oauth-provider",
            "refresh-token", "--oauth-setting", "client_secret=on-the-command-line"]  # fmt: skip
    done = subprocess.run([*MAILFERRY, *args], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 2
    assert "client_secret is a secret" in done.stderr
    assert "MAILFERRY_OAUTH_CLIENT_SECRET" in done.stderr
    assert "on-the-command-line" not in done.stdout + done.stderr


def test_a_cli_batch_whose_target_knows_users_by_local_part(
    dovecot_source: DovecotServer, oauth_target: DovecotServer, tokens: TokenServer,
    test_ca: RigCA, make_user: MakeUser, tmp_path: Path,
) -> None:  # fmt: skip
    """``batch new`` with ``--target-user-format {local}``: the XOAUTH2 name, the token's
    user and the refresh tokens' keys are the local part; the CSV has full addresses."""
    users, refresh = [], {}
    for i in range(2):
        account = make_user("oauthlocal-", servers=(dovecot_source,))
        spec = CorpusSpec(seed=7300 + i, messages=5, deleted_fraction=0.0)
        dovecot_source.write_maildir(account.name, generate(spec))
        oauth_target.add_user(account.name, f"target-{account.password}")
        grant = RefreshGrant(CLIENT_ID, CLIENT_SECRET, account.name, rotate=True)
        refresh[account.name] = tokens.add_refresh_grant(grant)
        users.append((account, f"{account.name}@{DOMAIN}"))
    csv = tmp_path / "users.csv"
    csv.write_bytes(_csv(users))
    secrets_file = tmp_path / "oauth.json"
    secrets_file.write_text(json.dumps({"client_secret": CLIENT_SECRET}))
    mf = make_mailferry(tmp_path)
    mf.env["MAILFERRY_OAUTH_REFRESH_TOKENS"] = json.dumps(refresh)
    mf.ok("endpoint", "new", "--name", "Src", "--remote-server", "127.0.0.1", "--port",
          str(dovecot_source.imaps_port), "--ca-file", str(dovecot_source.ca_pem_path))  # fmt: skip
    created = mf.ok(
        "batch", "new", "--name", "Local", "--source-endpoint", "Src", "--csv", str(csv),
        "--target", f"imap://127.0.0.1:{oauth_target.imap_port}", "--target-login", "xoauth2",
        "--target-user-format", "{local}", "--oauth-provider", "refresh-token",
        "--oauth-settings-file", str(secrets_file), "--oauth-setting",
        f"token_url={tokens.token_uri}", "--oauth-setting", f"client_id={CLIENT_ID}",
        "--oauth-setting", f"ca_file={test_ca.ca_pem_path}", "--auto-start", "--wait",
    )  # fmt: skip
    batch = mf.json("batch", "get", "Local")
    assert batch["Status"] == "Synced", created.output
    names = {account.name for account, _ in users}
    assert _issued(tokens, names) == 2 < _introspected(tokens, names)
    for account, _ in users:
        own = migrated(read_view(dovecot_source, Login(account.name, account.password)))
        target_login = Login(account.name, f"target-{account.password}")
        copied = non_empty(read_view(oauth_target, target_login))
        assert count(own) > 0 and differences(own, copied) == []
    access = [i.token for i in tokens.issued("refresh-token") if i.user in names]
    mf.assert_never_printed(CLIENT_SECRET, *refresh.values(), *access)
    stored = (tmp_path / "state.db").read_bytes()
    assert not any(s.encode() in stored for s in [CLIENT_SECRET, *refresh.values()])
