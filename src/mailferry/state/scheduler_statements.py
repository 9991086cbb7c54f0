"""The statements behind ``scheduler_queries``, built once with bound parameters.

Building a statement costs more than running it (the 13 EXISTS of a batch's summary:
2.3 ms built each time, 0.2 ms prebuilt), and a pass runs a dozen of them. Each is
shaped for one index of revision 0005 whatever the planner knows (SQLite has no
statistics unless ANALYZE ran): see ``scheduler_queries``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, exists, func, or_, select, true

from mailferry.state.schema import batches, endpoints, events, migration_users
from mailferry.state.service_rows import batch_query, endpoint_query, user_query
from mailferry.values.statuses import UserStatus

U = migration_users.c
B = batches.c
CLAIMABLE = (
    UserStatus.VALIDATING, UserStatus.SYNCING, UserStatus.INCREMENTAL_SYNCING,
    UserStatus.COMPLETING, UserStatus.STOPPING, UserStatus.REMOVING,
)  # fmt: skip
"""The statuses a user holds a claim in (a job releases its claim with its last status)."""
_SYNCED = UserStatus.SYNCED.value


def has_claim() -> ColumnElement[bool]:
    """``claimed_by`` set, as a range the claims index serves (SQLite reads the whole
    table for ``IS NOT NULL``); owners are never empty, and NULL > '' is not true."""
    return U.claimed_by > ""


def _many(name: str) -> Any:
    return bindparam(name, expanding=True)


def _free() -> tuple[ColumnElement[bool], ...]:
    """Unclaimed and not waiting for a retry (at ``:now``)."""
    return (U.claimed_by.is_(None), or_(U.retry_at.is_(None), U.retry_at <= bindparam("now")))


def _endpoint_batches() -> Select[Any]:
    """The ids of batch ``:endpoint``'s batches in ``:batch_statuses``."""
    return select(B.id).where(
        B.source_endpoint_id == bindparam("endpoint"), B.status.in_(_many("batch_statuses"))
    )


EVENT_REFS = select(events.c.id, events.c.batch_id, events.c.user_id, events.c.kind)
EVENTS_AFTER = EVENT_REFS.where(events.c.id > bindparam("floor")).order_by(events.c.id)
LATEST_EVENTS = EVENT_REFS.order_by(events.c.id.desc()).limit(bindparam("count"))

CLAIMED = select(U.id, U.batch_id, U.status, U.claimed_by, U.claimed_until).where(has_claim())
IN_STATUSES = select(U.id, U.batch_id, U.row, U.status, U.claimed_by).where(
    U.status.in_(_many("statuses"))
)
STATUSES_OF = select(U.id, U.status).where(U.id.in_(_many("ids")))
WINDING = user_query().where(
    U.batch_id.in_(_many("batch_ids")),
    U.status.in_([UserStatus.STOPPING.value, UserStatus.REMOVING.value]),
)

SUMMARY = select(
    *(
        exists().where(U.batch_id == bindparam("batch"), U.status == status.value)
        for status in UserStatus
    ),
    exists().where(
        U.batch_id == bindparam("batch"),
        U.status.in_([s.value for s in CLAIMABLE]),
        has_claim(),
        U.claimed_until >= bindparam("now"),
    ),
)
"""Whether the batch has a user in each status (in ``UserStatus`` order), then whether
a job holds a live claim on one: one index probe each."""
LAST_SYNC = select(func.max(U.last_successful_sync_at)).where(U.batch_id == bindparam("batch"))

BATCHES_IN = batch_query().where(B.status.in_(_many("statuses")))
BATCHES_BY_IDS = batch_query().where(B.id.in_(_many("ids")))
BATCHES_TO_COMPLETE = BATCHES_IN.where(B.complete_after <= bindparam("now"))
REPORTABLE = BATCHES_IN.where(
    B.notification_emails != "[]", B.initial_sync_finished_at.is_not(None)
)
BATCH_ENDPOINTS = select(B.id, B.source_endpoint_id).where(B.id.in_(_many("ids")))
ENDPOINTS_RUNNING = endpoint_query().where(
    endpoints.c.id.in_(select(B.source_endpoint_id).where(B.status.in_(_many("statuses"))))
)

_REF = (U.id, U.batch_id, U.row, U.status)
DUE_IN_BATCH = (
    select(*_REF)
    .where(U.batch_id == bindparam("batch"), U.status == bindparam("status"), *_free())
    .order_by(U.row, U.id)
    .limit(bindparam("limit"))
)
"""Unclaimed users of ``:batch`` in ``:status``, not waiting for a retry, CSV order."""
REQUESTED_SYNCS = (
    select(*_REF)
    .where(
        U.status == _SYNCED,
        U.sync_requested == true(),
        U.batch_id.in_(_endpoint_batches()),
        *_free(),
    )
    .order_by(U.batch_id, U.row, U.id)
    .limit(bindparam("limit"))
)
"""Synced users of the endpoint's batches with an incremental sync asked for."""
TIMED_SYNCS = (
    select(*_REF)
    .where(
        U.status == _SYNCED,
        U.next_sync_at <= bindparam("now"),
        (U.batch_id + 0).in_(_endpoint_batches()),  # + 0: not led through the batch index
        *_free(),
    )
    .order_by(U.next_sync_at, U.id)
    .limit(bindparam("limit"))
)
"""Synced users of the endpoint's batches whose next incremental sync is due, earliest
first. (``batch_id + 0``: the batch condition must not lead the query through the
batch index, over every synced user.)"""

NEXT_DUE = select(
    select(func.min(U.next_sync_at))
    .where(U.status == _SYNCED, U.next_sync_at > bindparam("now"))
    .scalar_subquery(),
    select(func.min(U.retry_at)).where(U.retry_at > bindparam("now")).scalar_subquery(),
    select(func.min(B.start_after))
    .where(B.status.in_(_many("starting")), B.start_after > bindparam("now"))
    .scalar_subquery(),
    select(func.min(B.complete_after))
    .where(B.status.in_(_many("completing")), B.complete_after > bindparam("now"))
    .scalar_subquery(),
)
