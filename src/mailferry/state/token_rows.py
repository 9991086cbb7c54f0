"""API token rows: the REST API's bearer tokens, kept only as hashes (``api_tokens``).

``TokenRows`` is a mixin of ``ServiceStore``. Names are unique without regard to case
among tokens that are not revoked; a revoked token keeps its row (the listing shows it)
until a new token takes its name, in the same transaction that creates the new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from mailferry.state.schema import api_tokens
from mailferry.state.store import StateStore

T = api_tokens.c


@dataclass(frozen=True)
class ApiToken:
    """One token's row. ``secret_hash`` is the SHA-256 hex of the token text (out of repr)."""

    id: int
    name: str
    lookup_id: str
    read_only: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    secret_hash: str = field(repr=False)


def token_key(name: str) -> str:
    return name.casefold()


_QUERY = select(
    T.id, T.name, T.lookup_id, T.read_only, T.created_at, T.last_used_at, T.revoked_at,
    T.secret_hash,
)  # fmt: skip


def _record(row: Any) -> ApiToken:
    return ApiToken(**row._mapping)


class TokenRows(StateStore):
    def add_token(self, values: Mapping[str, Any]) -> ApiToken:
        """Insert a token (``name``, ``lookup_id``, ``secret_hash``, ``read_only``,
        ``created_at``), first deleting a revoked token of that name. A live token of
        that name raises StateConflict (the unique constraint)."""
        key = token_key(values["name"])
        row = {**values, "name_key": key}

        def run(connection: Connection) -> None:
            connection.execute(
                delete(api_tokens).where(T.name_key == key, T.revoked_at.is_not(None))
            )
            connection.execute(insert(api_tokens).values(row))

        self._write("add_token", run)
        found = self.token(values["name"])
        assert found is not None
        return found

    def token(self, name: str) -> ApiToken | None:
        return self._token_where(T.name_key == token_key(name))

    def token_by_lookup(self, lookup_id: str) -> ApiToken | None:
        return self._token_where(T.lookup_id == lookup_id)

    def tokens(self) -> list[ApiToken]:
        with self._read("tokens") as connection:
            return [_record(row) for row in connection.execute(_QUERY.order_by(T.name_key))]

    def revoke_token(self, token_id: int, now: dt.datetime) -> bool:
        """Mark the token revoked (once); whether this call revoked it."""
        statement = (
            update(api_tokens)
            .where(T.id == token_id, T.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return self._write("revoke_token", lambda c: c.execute(statement).rowcount == 1)

    def touch_token(self, token_id: int, now: dt.datetime) -> None:
        statement = update(api_tokens).where(T.id == token_id).values(last_used_at=now)
        self._write("touch_token", lambda c: c.execute(statement))

    def _token_where(self, condition: Any) -> ApiToken | None:
        with self._read("token") as connection:
            row = connection.execute(_QUERY.where(condition)).one_or_none()
        return None if row is None else _record(row)
