"""The state database: what was migrated, so a rerun copies only what is new.

``StateStore.open(url)`` is the entry point (SQLite by default, PostgreSQL to scale out).
The names below are loaded on first use: importing ``mailferry.state.records`` (plain
values) must not import SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailferry.state.records import FolderRecord, PairIntent, PairRecord, PairState
    from mailferry.state.store import StateStore, WriteHook

_EXPORTS = {
    "FolderRecord": "records",
    "PairIntent": "records",
    "PairRecord": "records",
    "PairState": "records",
    "StateStore": "store",
    "WriteHook": "store",
}

__all__ = [
    "FolderRecord",
    "PairIntent",
    "PairRecord",
    "PairState",
    "StateStore",
    "WriteHook",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
