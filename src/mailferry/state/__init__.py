"""The state database: what was migrated, so a rerun copies only what is new.

``StateStore.open(url)`` is the entry point (SQLite by default, PostgreSQL to scale out).
"""

from mailferry.state.records import FolderRecord, PairIntent, PairRecord, PairState, SkippedItem
from mailferry.state.store import StateStore, WriteHook

__all__ = [
    "FolderRecord",
    "PairIntent",
    "PairRecord",
    "PairState",
    "SkippedItem",
    "StateStore",
    "WriteHook",
]
