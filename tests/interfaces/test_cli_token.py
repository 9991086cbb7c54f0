"""``mailferry token new|list|revoke``: the token printed once (stdout, alone), a reminder
on stderr, listings without it, revocation, errors; the database files never hold it."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from mailferry.app import Mailferry as Facade
from tests.interfaces.cli_service_support import Mailferry, make_mailferry

TOKEN = re.compile(r"mf_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    return make_mailferry(tmp_path)


def facade(mf: Mailferry) -> Facade:
    env = {k: v for k, v in mf.env.items() if v is not None}
    return Facade.open(mf.db_url, {**os.environ, **env})


def test_new_prints_the_token_alone_and_once(mf: Mailferry) -> None:
    made = mf.ok("token", "new", "--name", "Ci")
    secret = made.stdout.strip()
    assert TOKEN.fullmatch(secret) and made.stdout == secret + "\n"
    assert "only this once" in made.stderr and "read-write" in made.stderr
    assert secret not in made.stderr
    with facade(mf) as app:
        checked = app.tokens.check(secret)
    assert checked is not None and (checked["Name"], checked["ReadOnly"]) == ("Ci", False)

    reader = mf.ok("token", "new", "--name", "Dashboard", "--read-only")
    assert "read-only" in reader.stderr
    listed = mf.json("token", "list")
    assert [(t["Name"], t["ReadOnly"], t["Status"]) for t in listed] == [
        ("Ci", False, "Active"),
        ("Dashboard", True, "Active"),
    ]
    table = mf.ok("token", "list").stdout
    assert table.splitlines()[0].split() == [
        "Identity", "ReadOnly", "Status", "CreationDateTime", "LastUsedDateTime",
    ]  # fmt: skip
    everything = "\n".join(mf.outputs)
    assert everything.count(secret) == 1  # the one print of `token new`
    assert everything.count(reader.stdout.strip()) == 1


def test_revoke_and_its_errors(mf: Mailferry) -> None:
    secret = mf.ok("token", "new", "--name", "Ci").stdout.strip()
    assert "already exists" in mf.fails("token", "new", "--name", "ci")
    revoked = mf.ok("token", "revoke", "--name", "CI")
    assert "revoked" in revoked.stderr and revoked.stdout == ""
    assert [t["Status"] for t in mf.json("token", "list")] == ["Revoked"]
    with facade(mf) as app:
        assert app.tokens.check(secret) is None
    assert "not found" in mf.fails("token", "revoke", "--name", "nobody")
    assert "must not be empty" in mf.fails("token", "new", "--name", " ", code=2)
    assert "Missing option '--name'" in mf.fails("token", "new", code=2)
    assert "\n".join(mf.outputs).count(secret) == 1


def test_the_database_files_hold_the_hash_never_the_token(mf: Mailferry, tmp_path: Path) -> None:
    secrets = [mf.ok("token", "new", "--name", f"T{n}").stdout.strip() for n in range(3)]
    mf.ok("token", "list")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))  # with the WAL
    assert stored
    for secret in secrets:
        assert secret.encode() not in stored and secret[16:].encode() not in stored
        assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored
