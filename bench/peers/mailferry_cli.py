"""mailferry itself: ``python -m mailferry migrate`` over a users CSV, one process.

The target login is the rig's master user (Dovecot ``user*admin``). The state
database lives in the work dir, so the no-op and +100 runs reuse it.
"""

from __future__ import annotations

import csv
import sys
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
            "None",
            "--csv",
            str(_users_csv(ctx)),
            "--target",
            f"imap://{HOST}:{ctx.target_port}",
            "--target-security",
            "None",
            "--target-admin",
            MASTER_USER,
            "--target-password",
            MASTER_PASSWORD,
            "--state",
            f"sqlite:///{ctx.workdir / 'state.db'}",
            "--report",
            str(ctx.workdir / "report.json"),
        ]
    ]
