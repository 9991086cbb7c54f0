"""Start-up cost of the ``mailferry`` command: what it imports, and the paused collector."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json, sys
sys.argv = ["mailferry", *sys.argv[1:]]
from mailferry.interfaces.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps({
    "sqlalchemy": "sqlalchemy" in sys.modules,
    "alembic": any(name.split(".")[0] == "alembic" for name in sys.modules),
    "postgresql": "sqlalchemy.dialects.postgresql" in sys.modules,
    "frozen": gc.get_freeze_count(),
    "gc_enabled": gc.isenabled(),
}))
"""


def _start(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, object] = json.loads(last)
    return result


def test_migrate_help_does_not_import_the_state_database() -> None:
    probe = _start("migrate", "--help")
    assert probe["sqlalchemy"] is False
    assert probe["gc_enabled"] is True


def test_a_run_imports_the_state_store_with_the_collector_paused_then_frozen() -> None:
    # No --csv: a usage error right after the imports (click parses after _import_command).
    probe = _start("migrate", "--source-server", "127.0.0.1", "--target", "maildir:/nonexistent")
    assert probe["sqlalchemy"] is True
    assert isinstance(probe["frozen"], int) and probe["frozen"] > 10_000
    assert probe["gc_enabled"] is True
    assert probe["alembic"] is False
    assert probe["postgresql"] is False


def test_no_command_changes_nothing() -> None:
    probe = _start("--version")
    assert probe["frozen"] == 0
    assert probe["sqlalchemy"] is False
