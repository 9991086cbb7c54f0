"""isync's ``mbsync``: one process per user (its documented way to parallelise).

One-way copy source (Far) -> target (Near): ``Sync Pull``, ``Create Near``, nothing
expunged or removed, ``CopyArrivalDate yes`` to keep INTERNALDATE (off by default),
sync state in the work dir (IMAP-to-IMAP channels need an explicit ``SyncState``).
"""

from __future__ import annotations

from bench.peers.context import RunContext
from bench.peers.corpora import BenchUser

_RC = """\
IMAPAccount far
Host {host}
Port {source_port}
User {user}
Pass "{password}"
SSLType None
AuthMechs LOGIN

IMAPStore far
Account far

IMAPAccount near
Host {host}
Port {target_port}
User {user}
Pass "{password}"
SSLType None
AuthMechs LOGIN

IMAPStore near
Account near

Channel migrate
Far :far:
Near :near:
Patterns *
Create Near
Sync Pull
Expunge None
Remove None
CopyArrivalDate yes
SyncState {state}/
"""


def _config(ctx: RunContext, user: BenchUser) -> str:
    return ctx.peer_config(user, "mbsyncrc", _RC, "state")


def commands(ctx: RunContext) -> list[list[str]]:
    return [["mbsync", "-q", "-c", _config(ctx, user), "-a"] for user in ctx.users]
