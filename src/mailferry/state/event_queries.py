"""The event log read for a stream: events after an id, with the names of what they are
about (the log keeps ids only: it outlives what it names). ``EventQueries`` is a mixin
of ``ServiceStore``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from mailferry.state.schema import batches, endpoints, events, migration_users
from mailferry.state.store import StateStore

U = migration_users.c


@dataclass(frozen=True)
class NamedEvent:
    """An event of the log with the names of what it is about (None: none, or gone)."""

    id: int
    at: dt.datetime
    kind: str
    batch: str | None
    user: str | None
    endpoint: str | None
    detail: dict[str, Any]


class EventQueries(StateStore):
    def events_page(self, after: int, limit: int) -> list[NamedEvent]:
        """Events with an id above ``after``, oldest first, at most ``limit``, with the
        names of their batch, user and endpoint (outer-joined: None once removed)."""
        query = (
            select(
                events.c.id,
                events.c.at,
                events.c.kind,
                batches.c.name,
                migration_users.c.email_address,
                endpoints.c.name,
                events.c.detail,
            )
            .select_from(
                events.outerjoin(batches, batches.c.id == events.c.batch_id)
                .outerjoin(migration_users, U.id == events.c.user_id)
                .outerjoin(endpoints, endpoints.c.id == events.c.endpoint_id)
            )
            .where(events.c.id > after)
            .order_by(events.c.id)
            .limit(limit)
        )
        with self._read("events_page") as connection:
            return [
                NamedEvent(int(i), at, kind, batch, user, endpoint, json.loads(detail))
                for i, at, kind, batch, user, endpoint, detail in connection.execute(query)
            ]

    def last_event_id(self) -> int:
        with self._read("last_event_id") as connection:
            found = connection.execute(select(func.max(events.c.id))).scalar_one()
            return 0 if found is None else int(found)
