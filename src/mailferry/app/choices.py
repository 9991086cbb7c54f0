"""Statuses given as text (a ``-Status`` filter), checked case-insensitively."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from mailferry.errors import InvalidSetting
from mailferry.values.statuses import BatchStatus, UserStatus

E = TypeVar("E", bound=StrEnum)


def batch_status(text: str) -> BatchStatus:
    return _choice(BatchStatus, text, "batch status")


def user_status(text: str) -> UserStatus:
    return _choice(UserStatus, text, "user status")


def user_statuses(status: str | None, summary: str | None) -> tuple[UserStatus, ...] | None:
    """The shown statuses ``-Status`` and ``-StatusSummary`` ask for, both applied
    (None: no filter); ``InvalidSetting`` names a status that is neither ours nor
    Exchange's."""
    from mailferry.values.exchange_statuses import (
        STATUS_SUMMARIES,
        USER_STATUS_NAMES,
        statuses_named,
        statuses_summarized,
    )

    found: tuple[UserStatus, ...] | None = None
    if status is not None:
        found = statuses_named(status)
        if found is None:
            names = ", ".join(USER_STATUS_NAMES)
            raise InvalidSetting([f"user status {status!r} is not one of {names}"])
    if summary is not None:
        rolled = statuses_summarized(summary)
        if rolled is None:
            names = ", ".join(STATUS_SUMMARIES)
            raise InvalidSetting([f"status summary {summary!r} is not one of {names}"])
        found = rolled if found is None else tuple(s for s in found if s in rolled)
    return found


def _choice(kind: type[E], text: str, what: str) -> E:
    for member in kind:
        if member.value.lower() == text.strip().lower():
            return member
    choices = ", ".join(m.value for m in kind)
    raise InvalidSetting([f"{what} {text!r} is not one of {choices}"])
