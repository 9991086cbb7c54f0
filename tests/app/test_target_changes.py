"""Set-MigrationBatch on a batch's target through the façade: the preset and caps
change (``none`` / 0 remove them), the target itself, its login and its provider can't,
and OAuth2 settings are merged into the vault's. No server: the integration test
``test_oauth_logins`` runs a batch whose added user gets its token this way."""

from __future__ import annotations

import asyncio
import json

import pytest

from mailferry.app import BatchChanges, BatchRequest, EndpointRequest, Mailferry, TargetRequest
from mailferry.app.target_changes import merged_settings
from mailferry.errors import InvalidSetting
from mailferry.service.jobs.oauth_logins import payload_generation, payload_settings
from tests.service.service_support import users_csv

CSV = users_csv([("ann@contoso.example", "ann", "pw-ann")])
IMAP = "imaps://mail.contoso.example"


@pytest.fixture
def app(app: Mailferry) -> Mailferry:
    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    return app


def _set(app: Mailferry, name: str, **target: object) -> dict[str, object]:
    return app.set_batch(name, BatchChanges(target=TargetRequest(**target)))  # type: ignore[arg-type]


def _stored(app: Mailferry, name: str) -> str:
    batch = app._ctx.store.batch(name)
    assert batch is not None and batch.target_secret is not None
    return app._ctx.vault.decrypt(batch.target_secret)


def test_the_preset_and_caps_change_and_go(app: Mailferry) -> None:
    target = TargetRequest(IMAP, admin_user="admin", secret="pw", max_bytes_per_second=4096)
    app.new_batch(BatchRequest("B", "E1", CSV, target=target))
    changed = _set(app, "B", preset="M365", endpoint_max_bytes_per_second=8192)
    assert (
        changed["Target"]
        == f"{IMAP}:993 [preset m365, 4096 B/s per mailbox, 8192 B/s per endpoint]"
    )
    gone = _set(app, "B", preset="none", max_bytes_per_second=0)
    assert gone["Target"] == f"{IMAP}:993 [8192 B/s per endpoint]"
    batch = app._ctx.store.batch("B")
    assert batch is not None and batch.target.describe() == "imap://mail.contoso.example:993"
    with pytest.raises(InvalidSetting, match="at least 1024, not 10"):
        _set(app, "B", max_bytes_per_second=10)


def test_what_names_the_mailboxes_cannot_change(app: Mailferry) -> None:
    app.new_batch(BatchRequest("B", "E1", CSV, target=TargetRequest(IMAP, admin_user="a",
                                                                     secret="pw")))  # fmt: skip
    with pytest.raises(InvalidSetting) as refused:
        _set(app, "B", target="imaps://other.example", oauth_provider="entra")
    assert refused.value.problems == [
        "a batch's target can't be changed (its mailboxes' state names it)",
        "a batch's OAuth2 provider can't be changed; give its settings only",
    ]
    with pytest.raises(InvalidSetting, match="only to a batch whose target logs in with xoauth2"):
        _set(app, "B", oauth_settings={"client_id": "x"})


def test_oauth_settings_are_merged_into_the_vault(app: Mailferry) -> None:
    target = TargetRequest(
        IMAP, login="xoauth2", oauth_provider="refresh-token",
        oauth_settings={"token_url": "https://login.example/token", "client_id": "app",
                        "client_secret": "s3cret-1",
                        "refresh_tokens": {"ann@contoso.example": "rt-a"}},
    )  # fmt: skip
    app.new_batch(BatchRequest("O", "E1", CSV, target=target))
    assert payload_generation(_stored(app, "O")) == 0
    view = _set(app, "O", oauth_settings={"refresh_tokens": {"bob@contoso.example": "rt-b"},
                                          "client_secret": "s3cret-2"})  # fmt: skip
    kind, values = payload_settings(_stored(app, "O"))
    assert kind == "refresh-token" and values["client_secret"] == "s3cret-2"
    assert values["refresh_tokens"] == {
        "ann@contoso.example": "rt-a",
        "bob@contoso.example": "rt-b",
    }
    assert payload_generation(_stored(app, "O")) == 1  # a running service makes it again
    assert "s3cret" not in json.dumps(view) and "rt-b" not in json.dumps(app.events())


def test_refresh_tokens_merge_as_objects_or_their_json() -> None:
    stored = {"client_id": "app", "refresh_tokens": json.dumps({"a": "1"})}
    assert merged_settings(stored, {"refresh_tokens": {"b": "2"}})["refresh_tokens"] == {
        "a": "1", "b": "2",
    }  # fmt: skip
    assert merged_settings(stored, {"client_id": "new"}) == {**stored, "client_id": "new"}
