"""Console administrators: scrypt hashes, the façade's ``admins``, the ``mailferry
admin`` commands (the password from a hidden prompt or stdin, never an option)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailferry.app import Mailferry
from mailferry.errors import AlreadyExists, InvalidSetting, NotFound
from mailferry.interfaces.cli.main import cli
from mailferry.service.admins.passwords import hash_password, password_matches
from tests.interfaces.cli_service_support import make_mailferry

PASSWORD = "correct horse battery staple"


def test_hashes_are_salted_scrypt_and_checked_exactly() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert PASSWORD not in first
    assert password_matches(PASSWORD, first) and password_matches(PASSWORD, second)
    assert not password_matches(PASSWORD + "x", first)
    assert not password_matches(PASSWORD, "scrypt$1$2$3$zz$zz")
    assert not password_matches(PASSWORD, "sha1$whatever")


def test_the_facade_keeps_administrators(tmp_path: Path) -> None:
    env = {"MAILFERRY_HOME": str(tmp_path), "MAILFERRY_TARGET": f"maildir:{tmp_path / 'm'}"}
    with Mailferry.open(f"sqlite:///{tmp_path / 'db.sqlite'}", env) as app:
        view = app.admins.new("Alice", PASSWORD)
        assert view["Name"] == "Alice" and view["LastSignInTime"] is None
        assert set(view) == {"Name", "WhenCreated", "LastSignInTime"}  # never a hash
        with pytest.raises(AlreadyExists):
            app.admins.new("alice", PASSWORD)
        with pytest.raises(InvalidSetting, match="12 characters"):
            app.admins.new("bob", "short")
        with pytest.raises(InvalidSetting, match="no spaces"):
            app.admins.new("bo b", PASSWORD)
        assert app.admins.check("alice", "wrong") is None
        assert app.admins.check("nobody", PASSWORD) is None
        signed = app.admins.check("ALICE", PASSWORD)
        assert signed is not None and signed["LastSignInTime"] is not None
        assert [a["Name"] for a in app.admins.list()] == ["Alice"]
        app.admins.remove("alice")
        assert app.admins.get("Alice") is None and app.admins.list() == []
        with pytest.raises(NotFound):
            app.admins.remove("alice")


def test_the_admin_commands(tmp_path: Path) -> None:
    mf = make_mailferry(tmp_path)
    env = {**mf.env}
    runner = CliRunner()
    made = runner.invoke(
        cli, ["admin", "new", "--name", "ops", "--password-stdin"], input=PASSWORD + "\n", env=env
    )
    assert made.exit_code == 0, made.output
    assert "administrator 'ops' created" in made.stderr and PASSWORD not in made.output
    prompted = runner.invoke(
        cli, ["admin", "new", "--name", "ops2"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # the prompt hides it
    short = runner.invoke(
        cli, ["admin", "new", "--name", "x", "--password-stdin"], input="short\n", env=env
    )
    assert short.exit_code != 0 and "12 characters" in short.stderr
    listed = mf.json("admin", "list")
    assert [a["Name"] for a in listed] == ["ops", "ops2"]
    assert mf.ok("admin", "remove", "--name", "ops").exit_code == 0
    assert "not found" in mf.fails("admin", "remove", "--name", "ops")
    db = Path(mf.db_url.removeprefix("sqlite:///"))
    assert PASSWORD.encode() not in db.read_bytes()
    assert os.path.getsize(db) > 0
