"""OfflineIMAP3: IMAP-to-IMAP, one process per user (its manual's advice).

The source repository is ``readonly``; the target is the "local" IMAP repository and
gets the folders created; status (SQLite, its only backend now) under the work dir;
one-shot (``-o``), quiet UI. ``maxconnections`` stays at its default 1: the
known-issues file says the IMAP/IMAP mode can hang with several.
"""

from __future__ import annotations

from bench.peers.context import RunContext
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
    return ctx.peer_config(user, "offlineimaprc", _RC, "metadata")


def commands(ctx: RunContext) -> list[list[str]]:
    return [["offlineimap", "-o", "-u", "quiet", "-c", _config(ctx, user)] for user in ctx.users]
