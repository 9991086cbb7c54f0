"""How a batch's status follows its users' (``batch_settle.next_status``)."""

from __future__ import annotations

import pytest

from mailferry.service.batches.settle import next_status
from mailferry.values.statuses import BatchStatus, UserStatus
from tests.service.records_factory import T0, batch, user

B = BatchStatus
U = UserStatus


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((U.COMPLETED, U.COMPLETED), B.COMPLETED),
        ((U.COMPLETED, U.INCREMENTAL_FAILED), B.COMPLETED_WITH_ERRORS),
        ((U.COMPLETED, U.STOPPED), B.COMPLETED_WITH_ERRORS),  # stopped: never completed
        ((U.COMPLETED, U.COMPLETING), None),  # still completing
    ],
)
def test_completing_batch_ends_by_its_users(
    statuses: tuple[UserStatus, ...], expected: BatchStatus | None
) -> None:
    users = [user(n, f"u{n}@x.org", status=s) for n, s in enumerate(statuses)]
    assert next_status(batch(status=B.COMPLETING), users, T0) == expected


def test_users_stopped_one_by_one_do_not_hold_a_syncing_batch() -> None:
    users = [user(1, "a@x.org", status=U.SYNCED), user(2, "b@x.org", status=U.STOPPED)]
    assert next_status(batch(status=B.SYNCING), users, T0) == B.SYNCED
    stopped = [user(1, "a@x.org", status=U.STOPPED), user(2, "b@x.org", status=U.STOPPED)]
    assert next_status(batch(status=B.SYNCED), stopped, T0) == B.STOPPING
