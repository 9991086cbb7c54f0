"""An xoauth2 target's provider settings through the façade: merged from the request and
``MAILFERRY_OAUTH_<KEY>``, checked at once, files of secrets read into the vault's copy
(the service may run where they are not), a one-shot provider that crosses to worker
processes as its settings. No server: the token requests are the integration tests'."""

from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path

import pytest

from mailferry.app import BatchRequest, EndpointRequest, Mailferry, TargetRequest
from mailferry.app.oauth_targets import PROVIDER_KINDS, SECRET_KEYS, oauth_login
from mailferry.errors import InvalidSetting
from mailferry.service.jobs.oauth_logins import payload_settings
from mailferry.stores.oauth import settings as core
from mailferry.stores.oauth.configured import ConfiguredTokenProvider
from tests.service.service_support import users_csv
from tests.stores.test_oauth_providers import _certificate

CSV = users_csv([("ann@contoso.example", "ann", "pw-ann")])


@pytest.fixture
def app(app: Mailferry) -> Mailferry:
    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    return app


def _stored(app: Mailferry, name: str) -> tuple[str, dict[str, object]]:
    batch = app._ctx.store.batch(name)
    assert batch is not None and batch.target_secret is not None
    return payload_settings(app._ctx.vault.decrypt(batch.target_secret))


def test_the_interfaces_constants_are_the_cores() -> None:
    assert PROVIDER_KINDS == core.PROVIDER_KINDS
    assert SECRET_KEYS == core.SECRET_KEYS
    assert set().union(*(core.setting_keys(k) for k in PROVIDER_KINDS)) >= SECRET_KEYS


def test_a_certificate_file_goes_into_the_vault(app: Mailferry, tmp_path: Path) -> None:
    path, certificate = _certificate(tmp_path, "vault-cert")
    target = TargetRequest("imaps://outlook.example", login="xoauth2", oauth_provider="entra",
                           oauth_settings={"tenant": "contoso", "client_id": "app",
                                           "certificate_file": str(path)})  # fmt: skip
    made = app.new_batch(BatchRequest("Entra", "E1", CSV, target=target))
    assert made["Target"] == "imaps://outlook.example:993"
    path.unlink()  # the batch no longer needs the file
    kind, values = _stored(app, "Entra")
    assert kind == "entra" and "certificate_file" not in values
    assert str(values["certificate_pem"]).strip() == certificate.strip()
    assert "PRIVATE KEY" in str(values["private_key_pem"])
    assert "PRIVATE KEY" not in json.dumps(app.get_batch("Entra"))


def test_settings_come_from_the_environment_too(app: Mailferry) -> None:
    app._env["MAILFERRY_OAUTH_CLIENT_SECRET"] = "from-the-env"
    target = TargetRequest("imap://127.0.0.1:1143", login="xoauth2", oauth_provider="entra",
                           oauth_settings={"tenant": "contoso", "client_id": "app"})  # fmt: skip
    app.new_batch(BatchRequest("Env", "E1", CSV, target=target))
    assert _stored(app, "Env")[1]["client_secret"] == "from-the-env"


def test_bad_settings_are_refused_at_creation(app: Mailferry) -> None:
    cases = {
        "google": ({}, "missing setting service_account_json"),
        "refresh-token": ({"token_url": "https://t.example/token", "client_id": "c",
                           "refresh_tokens": "[1]"}, "must map addresses to tokens"),
        "entra": ({"tenant": "t", "client_id": "c", "colour": "blue"}, "unknown setting"),
    }  # fmt: skip
    for kind, (values, words) in cases.items():
        target = TargetRequest("imap://h", login="xoauth2", oauth_provider=kind,
                               oauth_settings=values)  # fmt: skip
        with pytest.raises(InvalidSetting, match=words):
            app.new_batch(BatchRequest("X", "E1", CSV, target=target))
    with pytest.raises(InvalidSetting, match="expected entra, google, refresh-token"):
        app.new_batch(BatchRequest("X", "E1", CSV, target=TargetRequest(
            "imap://h", login="xoauth2", oauth_provider="okta", oauth_settings={})))  # fmt: skip
    assert app.get_batches() == []


def test_a_one_shot_provider_pickles_as_its_settings() -> None:
    request = TargetRequest("imap://h", login="xoauth2", oauth_provider="refresh-token",
                            oauth_settings={"token_url": "https://t.example/token",
                                            "client_id": "c"})  # fmt: skip
    env = {"MAILFERRY_OAUTH_REFRESH_TOKENS": json.dumps({"a@x.example": "rt-hidden"})}
    login = oauth_login("refresh-token", request, env)
    provider = login.provider
    assert isinstance(provider, ConfiguredTokenProvider) and provider.requests == 0
    assert "rt-hidden" not in repr(login) + repr(provider)
    copied = pickle.loads(pickle.dumps(login))
    assert isinstance(copied.provider, ConfiguredTokenProvider)
    assert copied.provider is not provider and copied.provider.kind == "refresh-token"
    with pytest.raises(InvalidSetting, match=r"missing setting\(s\) refresh_tokens"):
        oauth_login("refresh-token", request, {})
