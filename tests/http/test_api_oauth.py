"""New-MigrationBatch over the API with an xoauth2 target and a renewing provider:
``OAuthProvider`` and ``OAuthSettings`` (a JSON object, secrets included) are checked
by the façade, kept encrypted in the vault, and never answered back."""

from __future__ import annotations

import json
from pathlib import Path

from mailferry.service.jobs.oauth_logins import payload_settings
from tests.http.api_support import API, open_api, upload, users_csv

CLIENT_SECRET = "api-oauth-client-s3cret"
REFRESH = "api-oauth-refresh-t0ken"
CSV = users_csv([("ann@example.com", "ann", "ann-source-pw")])


def _settings(**extra: object) -> dict[str, object]:
    return {
        "Name": "Cloud", "SourceEndpoint": "Src", "Target": "imaps://127.0.0.1:9993",
        "TargetLogin": "xoauth2", "OAuthProvider": "refresh-token", **extra,
    }  # fmt: skip


def test_oauth_settings_are_kept_encrypted_and_never_shown(tmp_path: Path) -> None:
    with open_api(tmp_path) as api:
        http = api.client
        made = http.post(f"{API}/endpoints?skipVerification=true",
                         json={"Name": "Src", "RemoteServer": "127.0.0.1"})  # fmt: skip
        assert made.status_code == 201, made.text
        oauth = {
            "token_url": "https://127.0.0.1:9/token",
            "client_id": "app",
            "client_secret": CLIENT_SECRET,
            "refresh_tokens": {"ann@example.com": REFRESH},
        }
        created = upload(http, CSV, **_settings(OAuthSettings=json.dumps(oauth)))
        assert created.status_code == 201, created.text
        answers = [created.text, http.get(f"{API}/batches").text,
                   http.get(f"{API}/batches/Cloud").text]  # fmt: skip
        assert not any(secret in text for text in answers for secret in (CLIENT_SECRET, REFRESH))
        batch = api.facade._ctx.store.batch("Cloud")
        assert batch is not None and batch.target.oauth_provider == "refresh-token"
        assert batch.target_secret is not None and REFRESH.encode() not in batch.target_secret
        kind, stored = payload_settings(api.facade._ctx.vault.decrypt(batch.target_secret))
        assert kind == "refresh-token" and stored["refresh_tokens"] == {"ann@example.com": REFRESH}
        assert CLIENT_SECRET.encode() not in (tmp_path / "mailferry.db").read_bytes()

        missing = upload(http, CSV, **_settings(Name="NoTokens", OAuthSettings=json.dumps(
            {"token_url": "https://127.0.0.1:9/token", "client_id": "app",
             "client_secret": CLIENT_SECRET})))  # fmt: skip
        assert missing.status_code == 422, missing.text
        assert "missing setting(s) refresh_tokens" in missing.text
        assert CLIENT_SECRET not in missing.text
        garbled = upload(http, CSV, **_settings(Name="Garbled", OAuthSettings="{" + REFRESH))
        assert garbled.status_code == 422 and "must be a JSON object" in garbled.text
        assert REFRESH not in garbled.text
        wrong = upload(http, CSV, **_settings(Name="Wrong", TargetLogin="master-user",
                                              TargetUser="admin", TargetPassword="pw"))  # fmt: skip
        assert wrong.status_code == 422 and "for target login xoauth2" in wrong.text
