"""Dovecot's own migration: ``doveadm backup -R`` from the source through imapc.

Reference only: doveadm writes the target's storage directly (no IMAP on the target
side), so it is a ceiling of a different kind, not a peer. One process per user.
"""

from __future__ import annotations

import shutil

from bench.peers.context import HOST, RunContext


def commands(ctx: RunContext) -> list[list[str]]:
    doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
    result = []
    for user in ctx.users:
        result.append(
            [
                doveadm,
                "-c",
                str(ctx.target_config),
                "-o",
                f"imapc_host={HOST}",
                "-o",
                f"imapc_port={ctx.source_port}",
                "-o",
                f"imapc_user={user.name}",
                "-o",
                f"imapc_password={user.password}",
                "-o",
                "imapc_ssl=no",
                "-o",
                "imapc_features=rfc822.size fetch-headers modseq",
                "-o",
                "mail_prefetch_count=20",
                "-o",
                "mail_fsync=never",
                "backup",
                "-R",
                "-u",
                user.name,
                "imapc:",
            ]
        )
    return result
