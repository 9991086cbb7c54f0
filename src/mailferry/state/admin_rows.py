"""Console administrator rows (``console_admins``): a name and a password hash.

``AdminRows`` is a mixin of ``ServiceStore``. Names are unique without regard to case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from mailferry.state.schema import console_admins
from mailferry.state.store import StateStore

A = console_admins.c


@dataclass(frozen=True)
class ConsoleAdmin:
    """One administrator's row (``password_hash`` out of repr)."""

    id: int
    name: str
    created_at: dt.datetime
    last_signin_at: dt.datetime | None
    password_hash: str = field(repr=False)


def admin_key(name: str) -> str:
    return name.casefold()


_QUERY = select(A.id, A.name, A.created_at, A.last_signin_at, A.password_hash)


def _record(row: Any) -> ConsoleAdmin:
    return ConsoleAdmin(**row._mapping)


class AdminRows(StateStore):
    def add_admin(self, name: str, password_hash: str, now: dt.datetime) -> ConsoleAdmin:
        """Insert an administrator; one of that name raises StateConflict."""
        row = {
            "name": name,
            "name_key": admin_key(name),
            "password_hash": password_hash,
            "created_at": now,
        }

        def run(connection: Connection) -> None:
            connection.execute(insert(console_admins).values(row))

        self._write("add_admin", run)
        found = self.admin(name)
        assert found is not None
        return found

    def admin(self, name: str) -> ConsoleAdmin | None:
        with self._read("admin") as connection:
            row = connection.execute(_QUERY.where(A.name_key == admin_key(name))).one_or_none()
        return None if row is None else _record(row)

    def admins(self) -> list[ConsoleAdmin]:
        with self._read("admins") as connection:
            return [_record(row) for row in connection.execute(_QUERY.order_by(A.name_key))]

    def remove_admin(self, name: str) -> bool:
        """Delete the administrator; whether there was one."""
        statement = delete(console_admins).where(A.name_key == admin_key(name))
        return bool(self._write("remove_admin", lambda c: c.execute(statement).rowcount == 1))

    def touch_admin(self, admin_id: int, now: dt.datetime) -> None:
        statement = update(console_admins).where(A.id == admin_id).values(last_signin_at=now)
        self._write("touch_admin", lambda c: c.execute(statement))
