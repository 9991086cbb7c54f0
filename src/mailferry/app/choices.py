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


def _choice(kind: type[E], text: str, what: str) -> E:
    for member in kind:
        if member.value.lower() == text.strip().lower():
            return member
    choices = ", ".join(m.value for m in kind)
    raise InvalidSetting([f"{what} {text!r} is not one of {choices}"])
