"""Running ``mailferry endpoint|batch|user`` in-process against a fresh SQLite database.

``Mailferry`` remembers every output it produced, so a test can assert at the end that
no password ever appeared on stdout or stderr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from mailferry.interfaces.cli.main import cli
from mailferry.service.vault import Vault

ENV_CLEARED = (
    "MAILFERRY_TARGET",
    "MAILFERRY_TARGET_LOGIN",
    "MAILFERRY_TARGET_USER",
    "MAILFERRY_TARGET_SECURITY",
    "MAILFERRY_TARGET_PASSWORD",
    "MAILFERRY_CA_FILE",
)


@dataclass
class Mailferry:
    home: Path
    env: dict[str, str | None]
    outputs: list[str] = field(default_factory=list)

    @property
    def db_url(self) -> str:
        return str(self.env["MAILFERRY_DB"])

    def run(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(cli, list(args), env={**self.env, **(env or {})})
        self.outputs.append(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def ok(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        result = self.run(*args, env=env)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, env: dict[str, str | None] | None = None) -> Any:
        return json.loads(self.ok(*args, "--format", "json", env=env).stdout)

    def fails(self, *args: str, code: int = 1) -> str:
        """Run a command that must fail; its stderr (the error line)."""
        result = self.run(*args)
        assert result.exit_code == code, result.output
        return result.stderr

    def assert_never_printed(self, *secrets: str) -> None:
        everything = "\n".join(self.outputs)
        for secret in secrets:
            assert secret not in everything


def make_mailferry(tmp_path: Path) -> Mailferry:
    """A fresh home, database and vault key; no default-target settings inherited."""
    home = tmp_path / "home"
    env: dict[str, str | None] = {
        "MAILFERRY_HOME": str(home),
        "MAILFERRY_DB": f"sqlite:///{tmp_path / 'state.db'}",
        "MAILFERRY_KEY": Vault.generate_key().decode(),
        **dict.fromkeys(ENV_CLEARED),
    }
    return Mailferry(home, env)


def with_batch(tmp_path: Path) -> Mailferry:
    """A fresh home with endpoint E1 and batch B1 of ``USERS`` (not started)."""
    made = make_mailferry(tmp_path)
    endpoint(made)
    new_batch(made, write_csv(tmp_path / "users.csv", USERS), "B1")
    return made


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["EmailAddress,UserName,Password", *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


USERS = [
    ("alice@contoso.example", "alice", "alice-pass-9f1"),
    ("bob@contoso.example", "bob", "bob-pass-7c2"),
]
PASSWORDS = [row[2] for row in USERS]


def endpoint(mf: Mailferry, name: str = "E1", *extra: str) -> dict[str, Any]:
    args = ["endpoint", "new", "--name", name, "--remote-server", "imap.contoso.example"]
    result: dict[str, Any] = mf.json(*args, "--skip-verification", *extra)
    return result


def new_batch(mf: Mailferry, csv: Path, name: str = "B1", *extra: str) -> dict[str, Any]:
    args = ["batch", "new", "--name", name, "--source-endpoint", "E1", "--csv", str(csv)]
    result: dict[str, Any] = mf.json(*args, *extra)
    return result
