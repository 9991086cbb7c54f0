"""The event log (every action, every job's start and end) as views, for a live stream.

Ids only grow: a reader keeps the last id it saw and asks for what came after it
(``events(after=...)``), which is also what an SSE stream's ``Last-Event-ID`` resumes.
"""

from __future__ import annotations

from typing import Any

from mailferry.app.core import AppCore

MAX_EVENTS = 1000
"""The most events one call returns."""


class EventUseCases(AppCore):
    def events(self, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Events with an id above ``after``, oldest first, at most ``limit`` (1-1000):
        ``{"Id", "Time", "Kind", "Batch", "User", "Endpoint", "Detail"}`` (names, not
        ids; None when the event has none or the thing is gone). Never a secret."""
        from mailferry.errors import InvalidSetting
        from mailferry.service.properties import iso_utc

        if not 1 <= limit <= MAX_EVENTS:
            raise InvalidSetting([f"limit {limit} is outside 1-{MAX_EVENTS}"])
        return [
            {
                "Id": e.id,
                "Time": iso_utc(e.at),
                "Kind": e.kind,
                "Batch": e.batch,
                "User": e.user,
                "Endpoint": e.endpoint,
                "Detail": e.detail,
            }
            for e in self._ctx.store.events_page(after, limit)
        ]

    def last_event_id(self) -> int:
        """The newest event's id (0 for none): where a stream that wants only what
        happens from now on starts."""
        return self._ctx.store.last_event_id()
