"""One table of exit codes for every command (README, "Exit codes"): 0 done, 1 something
failed (a user, a server, a name not found), 2 nothing done because of bad input.

The same refused CSV and bad options through ``batch new``, ``migrate``, ``verify`` and
``endpoint new`` (no server is contacted: the input is refused first).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interfaces.cli_service_support import Mailferry, endpoint, make_mailferry

BAD_ROWS = "EmailAddress,UserName,Password\nnot-an-address,alice,pw-1\n"


@pytest.fixture
def mf(tmp_path: Path) -> Mailferry:
    made = make_mailferry(tmp_path)
    endpoint(made)
    return made


@pytest.fixture
def bad_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(BAD_ROWS, encoding="utf-8")
    return path


def one_shot(command: str, csv: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [command, "--source-server", "127.0.0.1", "--security", "None", "--csv", str(csv),
            "--target", f"maildir:{tmp_path / 'mail'}", *extra]  # fmt: skip


def test_the_same_bad_csv_exits_2_in_every_command(
    mf: Mailferry, bad_csv: Path, tmp_path: Path
) -> None:
    runs = {
        "batch new": mf.run(
            "batch", "new", "--name", "B", "--source-endpoint", "E1", "--csv", str(bad_csv)
        ),
        "migrate": mf.run(
            *one_shot("migrate", bad_csv, tmp_path, "--state", str(tmp_path / "s.db"))
        ),
        "verify": mf.run(*one_shot("verify", bad_csv, tmp_path)),
    }
    for command, result in runs.items():
        assert result.exit_code == 2, (command, result.output)
        assert "Row 2: EmailAddress is not a valid e-mail address" in result.output, command
    assert not (tmp_path / "mail").exists() and not (tmp_path / "s.db").exists()
    assert mf.json("batch", "get") == []


@pytest.mark.parametrize(
    "args",
    [
        ["endpoint", "new", "--name", "E2", "--remote-server", "x", "--skip-verification",
         "--max-concurrent-migrations", "101"],  # our check: InvalidSetting
        ["endpoint", "new", "--name", "E2", "--remote-server", "x", "--port", "many"],  # click's
        ["batch", "new", "--name", "B", "--source-endpoint", "E1", "--csv", "users.csv",
         "--target", "ftp://x"],
        ["migrate", "--source-server", "127.0.0.1", "--csv", "users.csv", "--target", "ftp://x"],
        ["verify", "--source-server", "127.0.0.1", "--csv", "users.csv", "--target", "ftp://x"],
        ["migrate", "--source-server", "127.0.0.1", "--csv", "users.csv", "--target",
         "maildir:m", "--content-filter", "Received -gt '3/4/2020'"],
    ],
)  # fmt: skip
def test_a_bad_option_exits_2(
    mf: Mailferry, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.csv").write_text("EmailAddress,UserName,Password\na@b.example,a,p\n")
    result = mf.run(*args)
    assert result.exit_code == 2, result.output
    assert [e["Name"] for e in mf.json("endpoint", "get")] == ["E1"]


def test_not_found_exits_1(mf: Mailferry) -> None:
    """A well-formed name that names nothing: the command ran and found nothing."""
    assert mf.run("batch", "get", "nope").exit_code == 1
    assert mf.run("endpoint", "remove", "nope").exit_code == 1
    assert mf.run("user", "get", "nobody@contoso.example").exit_code == 1
