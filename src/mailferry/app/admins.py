"""The façade's console administrators (``Mailferry.admins``): JSON-ready views, never
a password or its hash."""

from __future__ import annotations

from typing import Any

from mailferry.service.admins.manage import (
    admin_properties,
    check_admin,
    list_admins,
    new_admin,
    remove_admin,
)
from mailferry.service.context import ServiceContext


class AdminAccounts:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def new(self, name: str, password: str) -> dict[str, Any]:
        """A new administrator (``AlreadyExists``; ``InvalidSetting`` for a bad name or a
        password under 12 characters)."""
        return admin_properties(new_admin(self._ctx, name, password))

    def list(self) -> list[dict[str, Any]]:
        return [admin_properties(a) for a in list_admins(self._ctx)]

    def get(self, name: str) -> dict[str, Any] | None:
        """The administrator's view; None when there is none of that name."""
        found = self._ctx.store.admin(name)
        return None if found is None else admin_properties(found)

    def remove(self, name: str) -> None:
        remove_admin(self._ctx, name)

    def check(self, name: str, password: str) -> dict[str, Any] | None:
        """The administrator's view if the password is theirs, else None. Synchronous and
        deliberately slow (scrypt): call it off the event loop."""
        found = check_admin(self._ctx, name, password)
        return None if found is None else admin_properties(found)
