"""mailferry itself: ``python -m mailferry migrate`` over a users CSV, one process.

The target login is the rig's master user (Dovecot ``user*admin``). The state
database lives in the work dir, so the no-op and +100 runs reuse it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path

from bench.peers.context import HOST, MASTER_PASSWORD, MASTER_USER, RunContext

REPO = Path(__file__).resolve().parents[2]
CLI_MODULE = REPO / "src" / "mailferry" / "interfaces" / "cli" / "migrate.py"
LARGE_ITEM_REASON = "> 35 MiB: mailferry's documented LargeItem skip"


def available() -> bool:
    return CLI_MODULE.exists()


def _users_csv(ctx: RunContext) -> Path:
    path = ctx.workdir / "users.csv"
    if not path.exists():
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["EmailAddress", "UserName", "Password"])
            for user in ctx.users:
                writer.writerow([user.name, user.name, user.password])
    return path


def _password_file(ctx: RunContext) -> Path:
    path = ctx.workdir / "target-admin-password"
    if not path.exists():
        path.write_text(MASTER_PASSWORD)
        path.chmod(0o600)
    return path


def commands(ctx: RunContext) -> list[list[str]]:
    return [
        [
            sys.executable,
            "-m",
            "mailferry",
            "migrate",
            "--source-server",
            HOST,
            "--port",
            str(ctx.source_port),
            "--security",
            "none",
            "--csv",
            str(_users_csv(ctx)),
            "--target",
            f"imap://{HOST}:{ctx.target_port}",
            "--target-security",
            "none",
            "--target-login",
            "master-user",
            "--target-admin",
            MASTER_USER,
            "--target-password-file",
            str(_password_file(ctx)),
            "--state",
            str(ctx.workdir / "state.db"),
            "--report",
            str(ctx.workdir / "report.json"),
            *os.environ.get("MAILFERRY_BENCH_ARGS", "").split(),
        ]
    ]


def report_note(ctx: RunContext) -> str:
    """What mailferry's own JSON report says it skipped (to check the skip is reported)."""
    path = ctx.workdir / "report.json"
    if not path.exists():
        return "no report.json written"
    report = json.loads(path.read_text(encoding="utf-8"))
    kinds: Counter[str] = Counter()
    for user in report.get("Users", []):
        for item in user.get("SkippedItems", []):
            kinds[f"{item.get('Kind')} {item.get('MessageSize')} B"] += 1
    synced, failed = report.get("SyncedCount", "?"), report.get("FailedCount", "?")
    skipped = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"
    return f"its report: {synced} users synced, {failed} failed; skipped items: {skipped}"
