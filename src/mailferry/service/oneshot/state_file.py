"""Where the one-shot ``migrate`` keeps its state when ``--state`` is not given.

One SQLite file per (source, target) pair under the mailferry home:
``<home>/migrate/<key>.db``, the key being the first 16 hex digits of the SHA-256 of
``"<source> -> <target>"`` (``imap://HOST:PORT -> imap://HOST:PORT`` or
``imap://HOST:PORT -> maildir:/absolute/path``). Running ``migrate`` from another
directory finds the same state; running it against another target (or from another
source) never trusts a state made for something else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mailferry.service.migration_spec import SourceSpec, TargetSpec

KEY_DIGITS = 16


def migration_identity(source: SourceSpec, target: TargetSpec) -> str:
    """``imap://HOST:PORT -> maildir:/absolute/path``: a Maildir root given relative to
    the current directory is made absolute (the same words from elsewhere name another
    directory)."""
    if target.maildir_root is not None:
        shown = f"maildir:{target.maildir_root.expanduser().resolve()}"
    else:
        shown = target.describe()
    return f"{source.describe()} -> {shown}"


def default_state_path(home: Path, source: SourceSpec, target: TargetSpec) -> Path:
    digest = hashlib.sha256(migration_identity(source, target).encode("utf-8")).hexdigest()
    return home / "migrate" / f"{digest[:KEY_DIGITS]}.db"
