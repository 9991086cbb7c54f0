"""API tokens through the façade's TokenAdmin on SQLite and PostgreSQL: new, list,
check, revoke, name reuse; the database holds a hash and never the token's text."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from mailferry.app.tokens import TokenAdmin
from mailferry.errors import AlreadyExists, InvalidSetting, NotFound
from mailferry.service.context import ServiceContext
from mailferry.service.tokens.manage import LAST_USED_PRECISION
from mailferry.service.vault import Vault
from mailferry.state.schema import api_tokens
from mailferry.state.service_store import ServiceStore

VIEW_KEYS = [
    "Identity", "Name", "ReadOnly", "Status", "CreationDateTime", "LastUsedDateTime",
    "RevokedDateTime",
]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(db_url: str, clock: Clock) -> Iterator[ServiceContext]:
    store = ServiceStore.open(db_url)
    try:
        yield ServiceContext(store=store, vault=Vault(Vault.generate_key()), clock=clock)
    finally:
        store.close()


@pytest.fixture
def admin(ctx: ServiceContext) -> TokenAdmin:
    return TokenAdmin(ctx)


def stored_rows(store: ServiceStore) -> list[tuple[object, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(api_tokens))]


def test_a_token_lives_and_is_revoked(admin: TokenAdmin, clock: Clock) -> None:
    secret, view = admin.new("Deploy", read_only=False)
    assert secret.startswith("mf_") and len(secret) == 3 + 12 + 1 + 43
    assert view == {
        "Identity": "Deploy", "Name": "Deploy", "ReadOnly": False, "Status": "Active",
        "CreationDateTime": "2026-12-05T12:00:00Z", "LastUsedDateTime": None,
        "RevokedDateTime": None,
    }  # fmt: skip
    clock.now += dt.timedelta(seconds=5)
    checked = admin.check(secret)
    assert checked is not None
    assert (checked["Name"], checked["ReadOnly"]) == ("Deploy", False)
    assert admin.list()[0]["LastUsedDateTime"] == "2026-12-05T12:00:05Z"

    admin.revoke("deploy")  # names are case-insensitive
    assert admin.check(secret) is None
    [listed] = admin.list()
    assert (listed["Status"], listed["RevokedDateTime"]) == ("Revoked", "2026-12-05T12:00:05Z")
    admin.revoke("Deploy")  # again: nothing changes
    assert admin.list() == [listed]


def test_check_refuses_anything_but_the_exact_live_text(admin: TokenAdmin) -> None:
    secret, _ = admin.new("Ci", read_only=True)
    other, _ = admin.new("Other", read_only=False)
    lookup = secret[3:15]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for wrong in ("", "mf_", secret + "x", secret[:-1], flipped, secret.upper(),
                  f"mf_{lookup}_{other[16:]}", f"Bearer {secret}", "x" * 10_000):  # fmt: skip
        assert admin.check(wrong) is None, wrong
    checked = admin.check(secret)
    assert checked is not None and checked["ReadOnly"] is True
    assert [t["Name"] for t in admin.list()] == ["Ci", "Other"]
    assert all(list(t) == VIEW_KEYS for t in admin.list())


def test_last_used_is_written_at_most_once_a_minute(admin: TokenAdmin, clock: Clock) -> None:
    secret, _ = admin.new("Ci", read_only=True)
    admin.check(secret)
    clock.now += LAST_USED_PRECISION - dt.timedelta(seconds=1)
    admin.check(secret)
    assert admin.list()[0]["LastUsedDateTime"] == "2026-12-05T12:00:00Z"
    clock.now += dt.timedelta(seconds=1)
    admin.check(secret)
    assert admin.list()[0]["LastUsedDateTime"] == "2026-12-05T12:01:00Z"


def test_names_are_unique_among_live_tokens_and_reusable_after_revoke(
    admin: TokenAdmin,
) -> None:
    first, _ = admin.new("Ci", read_only=True)
    with pytest.raises(AlreadyExists):
        admin.new("CI", read_only=False)
    admin.revoke("Ci")
    second, view = admin.new("CI", read_only=False)
    assert (view["Name"], view["Status"], view["ReadOnly"]) == ("CI", "Active", False)
    assert admin.check(first) is None and admin.check(second) is not None
    assert [t["Name"] for t in admin.list()] == ["CI"]


def test_bad_names_and_unknown_tokens_are_refused(admin: TokenAdmin) -> None:
    for bad in ("", "   ", "a\nb", "x" * 101):
        with pytest.raises(InvalidSetting):
            admin.new(bad, read_only=False)
    with pytest.raises(NotFound):
        admin.revoke("nobody")
    assert admin.list() == []


def test_the_database_holds_the_hash_never_the_text(admin: TokenAdmin, ctx: ServiceContext) -> None:
    secret, _ = admin.new("Ci", read_only=False)
    rows = stored_rows(ctx.store)
    assert len(rows) == 1
    text = repr(rows)
    assert secret not in text and secret[16:] not in text
    assert hashlib.sha256(secret.encode()).hexdigest() in text
    assert secret not in repr(ctx.store.tokens())
