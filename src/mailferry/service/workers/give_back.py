"""Sending a user whose job will not run back where it resumes, at once.

What recovery does for a dead worker's claim (``jobs.recovery.RESUME``), done by the
claim's owner itself: conditional on its claim and the status, and recorded as a
``job_recovered`` event, which also wakes the acting scheduler's next pass.
"""

from __future__ import annotations

from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.jobs.recovery import RESUME
from mailferry.service.statuses import UserStatus


def give_back(ctx: ServiceContext, user_id: int, owner: str, **detail: Any) -> bool:
    """Whether the user was sent back (False: not ``owner``'s claim any more)."""
    store, now = ctx.store, ctx.now()
    user = store.user_by_id(user_id)
    if user is None or user.claimed_by != owner:
        return False
    changes: dict[str, Any] = {**RESUME.get(user.status, {}), "claimed_by": None}
    changes.update(claimed_until=None, started_at=None)
    if changes.get("status") == UserStatus.QUEUED:
        changes["queued_since"] = now
    if not store.update_user(user_id, changes, owner=owner, expect=[user.status]):
        return False
    store.add_event(
        "job_recovered", now, batch_id=user.batch_id, user_id=user_id,
        previous_owner=owner, status=user.status.value, **detail,
    )  # fmt: skip
    return True
