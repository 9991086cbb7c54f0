"""Flag spelling rules every store shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mailferry.imap.command_values import is_atom
from mailferry.stores.base import SYSTEM_FLAGS

_SYSTEM_BY_LOWER = {flag.lower(): flag for flag in SYSTEM_FLAGS}
_SHARED: dict[tuple[str, ...], tuple[str, ...]] = {}
_SHARED_MAX = 4096
_WITHOUT_RECENT: dict[tuple[str, ...], tuple[str, ...]] = {}  # listing -> kept (bounded)


def shared(flags: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object per distinct flag combination. A mailbox of 100,000 messages
    has a handful of combinations: its listings, plans and pairs then share them
    instead of holding 100,000 tuples of fresh strings each (bounded: a cache, not a
    registry, so odd keyword soups cannot make it grow without end)."""
    found = _SHARED.get(flags)
    if found is not None:
        return found
    if len(_SHARED) >= _SHARED_MAX:
        _SHARED.clear()
    _SHARED[flags] = flags
    return flags


def system_flag(flag: str) -> str | None:
    """The canonical spelling of a system flag we migrate (never ``\\Recent``), else None."""
    return _SYSTEM_BY_LOWER.get(flag.lower())


def is_keyword(flag: str) -> bool:
    """A keyword a store can hold: an IMAP atom not starting with ``\\``."""
    return bool(flag) and not flag.startswith("\\") and flag.isascii() and is_atom(flag.encode())


def without_recent(flags: Sequence[str]) -> tuple[str, ...]:
    """``\\Recent`` is session state, not something to migrate (the tuple is shared)."""
    key = tuple(flags)
    found = _WITHOUT_RECENT.get(key)
    if found is None:
        if len(_WITHOUT_RECENT) >= _SHARED_MAX:
            _WITHOUT_RECENT.clear()
        found = shared(tuple(flag for flag in key if flag.lower() != "\\recent"))
        _WITHOUT_RECENT[key] = found
    return found


def storable(flags: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split into (system flags spelled canonically, keywords); anything else is dropped."""
    system: list[str] = []
    keywords: list[str] = []
    for flag in flags:
        known = system_flag(flag)
        if known is not None:
            if known not in system:
                system.append(known)
        elif is_keyword(flag) and flag not in keywords:
            keywords.append(flag)
    return system, keywords
