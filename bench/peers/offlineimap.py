"""OfflineIMAP3: IMAP-to-IMAP, one process per user (its manual's advice).

The source repository is ``readonly``; the target is the "local" IMAP repository and
gets the folders created; status (SQLite, its only backend now) under the work dir;
one-shot (``-o``), quiet UI. ``maxconnections`` stays at its default 1: the
known-issues file says the IMAP/IMAP mode can hang with several.
"""

from __future__ import annotations

from bench.peers.context import HOST, RunContext
from bench.peers.corpora import BenchUser

_RC = """\
[general]
accounts = migrate
metadata = {metadata}
maxsyncaccounts = 1
ui = quiet

[Account migrate]
localrepository = target
remoterepository = source
synclabels = no

[Repository source]
type = IMAP
remotehost = {host}
remoteport = {source_port}
remoteuser = {user}
remotepass = {password}
ssl = no
starttls = no
readonly = True
holdconnectionopen = no
maxconnections = 1

[Repository target]
type = IMAP
remotehost = {host}
remoteport = {target_port}
remoteuser = {user}
remotepass = {password}
ssl = no
starttls = no
createfolders = True
holdconnectionopen = no
maxconnections = 1
"""


def _config(ctx: RunContext, user: BenchUser) -> str:
    directory = ctx.user_dir(user)
    path = directory / "offlineimaprc"
    if not path.exists():
        (directory / "metadata").mkdir(exist_ok=True)
        path.write_text(
            _RC.format(
                host=HOST,
                source_port=ctx.source_port,
                target_port=ctx.target_port,
                user=user.name,
                password=user.password,
                metadata=directory / "metadata",
            )
        )
    return str(path)


def commands(ctx: RunContext) -> list[list[str]]:
    return [["offlineimap", "-o", "-u", "quiet", "-c", _config(ctx, user)] for user in ctx.users]
