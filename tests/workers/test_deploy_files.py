"""deploy/compose.yaml and the systemd units run commands the CLI accepts: each is
parsed by the real click commands (options, values), its ``--help`` exits 0, and the
environment names only variables mailferry reads. (``docker compose`` is not
installed here: the file is checked with a YAML parser.)"""

from __future__ import annotations

import configparser
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from mailferry.interfaces.cli.main import cli
from tests.workers.support import MAILFERRY

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS = (ROOT / "src/mailferry/app/settings.py").read_text()


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def parse(args: Sequence[str]) -> list[str]:
    """Parse ``mailferry ARGS`` with the real commands (nothing runs); the words that
    name the command, e.g. ["db", "upgrade"]."""
    assert args[0] == "mailferry", args
    command: click.Command = cli
    words: list[str] = []
    rest = list(args[1:])
    while isinstance(command, click.Group):
        found = command.get_command(click.Context(command), rest[0])
        assert found is not None, f"no command {rest[0]!r} in {args}"
        words.append(rest.pop(0))
        command = found
    with click.Context(cli) as parent:
        command.make_context(words[-1], rest, parent=parent)
    return words


def help_exits_0(words: Sequence[str]) -> None:
    done = subprocess.run(
        [*MAILFERRY, *words, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_compose_has_postgres_one_scheduler_and_workers() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "serve", "worker"}
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["postgres"]["image"].startswith("postgres:")
    assert "--runner" in services["serve"]["command"]
    runner = services["serve"]["command"].index("--runner")
    assert services["serve"]["command"][runner + 1] == "procrastinate"


@pytest.mark.parametrize("name", ["migrate", "serve", "worker"])
def test_compose_commands_are_real_commands(name: str) -> None:
    service = compose()["services"][name]
    words = parse(service["command"])
    help_exits_0(words)
    env = service["environment"]
    assert env["MAILFERRY_DB"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["MAILFERRY_DB"]  # the compose service's name
    assert env["MAILFERRY_KEY"].startswith("${MAILFERRY_KEY")
    for variable in env:
        assert f'"{variable}"' in SETTINGS, f"{variable}: mailferry does not read it"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("unit", ["mailferry-serve.service", "mailferry-worker@.service"])
def test_systemd_units_run_real_commands(unit: str) -> None:
    service = _unit(DEPLOY / "systemd" / unit)["Service"]
    commands = [
        service["ExecStart"],
        *([service["ExecStartPre"]] if "ExecStartPre" in service else []),
    ]
    for line in commands:
        args = shlex.split(line)
        assert args[0].endswith("/mailferry")
        help_exits_0(parse(["mailferry", *args[1:]]))
    assert service["KillSignal"] == "SIGTERM"
    env = _unit_env(DEPLOY / "systemd" / "mailferry.env.example")
    assert {"MAILFERRY_DB", "MAILFERRY_KEY"} <= set(env)
    assert all(f'"{name}"' in SETTINGS for name in env)


def _unit_env(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_parse_refuses_what_the_cli_refuses() -> None:
    """The check above is a real one: a wrong option or value fails it."""
    with pytest.raises(click.UsageError):
        parse(["mailferry", "worker", "--concurency", "4"])
    with pytest.raises(click.BadParameter):
        parse(["mailferry", "serve", "--runner", "celery"])
