"""The automatic clean-up's reads (``service/batches/cleanup.py``): batches by status
and one of its clocks, each an index range of revision 0010, never a scan of users.

``CleanupQueries`` is a mixin of ``ServiceStore``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, func, select

from mailferry.state.migration_records import Batch
from mailferry.state.schema import batches
from mailferry.state.service_rows import batch_query, batch_record
from mailferry.state.store import StateStore
from mailferry.values.statuses import BatchStatus

B = batches.c
Clock = Literal["last_admin_activity_at", "settled_at"]
"""The column a clean-up rule counts from (each has an index with ``status``)."""


@dataclass(frozen=True)
class CleanupRow:
    """A batch with the clean-up's columns (not part of ``Batch``: nothing else reads them)."""

    batch: Batch
    last_admin_activity_at: dt.datetime | None
    settled_at: dt.datetime | None
    cleanup_refused_at: dt.datetime | None


def _statement(clock: Clock) -> Any:
    column = B[clock]
    return batch_query().where(
        B.status.in_(bindparam("statuses", expanding=True)), column <= bindparam("cutoff")
    )


def _earliest(clock: Clock) -> Any:
    column = B[clock]
    return select(func.min(column)).where(
        B.status.in_(bindparam("statuses", expanding=True)), column > bindparam("cutoff")
    )


_CANDIDATES = {clock: _statement(clock) for clock in ("last_admin_activity_at", "settled_at")}
_EARLIEST = {clock: _earliest(clock) for clock in ("last_admin_activity_at", "settled_at")}


class CleanupQueries(StateStore):
    def cleanup_candidates(
        self, statuses: Collection[BatchStatus], clock: Clock, cutoff: dt.datetime
    ) -> list[CleanupRow]:
        """Batches in ``statuses`` whose ``clock`` is at or before ``cutoff``, oldest first."""
        params = {"statuses": [s.value for s in statuses], "cutoff": cutoff}
        with self._read("cleanup_candidates") as connection:
            rows = list(connection.execute(_CANDIDATES[clock], params))
        found = [
            CleanupRow(
                batch_record(row),
                row._mapping["last_admin_activity_at"],
                row._mapping["settled_at"],
                row._mapping["cleanup_refused_at"],
            )
            for row in rows
        ]
        return sorted(found, key=lambda r: (r.batch.created_at, r.batch.id))

    def earliest_clock_after(
        self, statuses: Collection[BatchStatus], clock: Clock, cutoff: dt.datetime
    ) -> dt.datetime | None:
        """The earliest ``clock`` after ``cutoff`` among batches in ``statuses`` (an
        index minimum): when the next of them falls due."""
        params = {"statuses": [s.value for s in statuses], "cutoff": cutoff}
        with self._read("earliest_clock_after") as connection:
            found: dt.datetime | None = connection.execute(_EARLIEST[clock], params).scalar()
        return found
