"""Migration users: Get-MigrationUser (paged), Get-MigrationUserStatistics, SyncNow for
one user, Stop-, Start- and Remove-MigrationUser, as Exchange-named views."""

from __future__ import annotations

import time
from typing import Any, TypedDict

from mailferry.app.core import AppCore

GRACE_SECONDS = 10.0
"""How long past the claim lease ``wait_user`` waits for a job to end (a dead
worker's job ends when its lease expires)."""

_WINDING_DOWN = ("Stopping", "Removing")


class UsersPage(TypedDict):
    """A page of users: ``Next`` is the ``after`` of the next page (None: the last)."""

    Items: list[dict[str, Any]]
    Next: str | None
    Total: int


class UserUseCases(AppCore):
    def get_users(
        self,
        *,
        batch: str | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        status_summary: str | None = None,
    ) -> UsersPage:
        """Users (of a batch, showing a status) in address order, ``limit`` at a time
        after the address ``after``; ``Total`` counts every match. ``status`` may be any
        of Exchange's 21 names too, ``status_summary`` one of its five roll-ups
        (``values.exchange_statuses``)."""
        from mailferry.app.choices import user_statuses
        from mailferry.service.batches.users import list_users_page
        from mailferry.service.properties import user_properties

        wanted = user_statuses(status, status_summary)
        page = list_users_page(self._ctx, batch=batch, status=wanted, after=after, limit=limit)
        items = [user_properties(f.user, batch_started=f.batch_started) for f in page.users]
        return {"Items": items, "Next": page.next_after, "Total": page.total}

    def get_user(self, email: str) -> dict[str, Any]:
        from mailferry.service.batches.users import listed_user
        from mailferry.service.properties import user_properties

        found = listed_user(self._ctx, email)
        return user_properties(found.user, batch_started=found.batch_started)

    def user_statistics(
        self,
        email: str,
        *,
        include_skipped: bool = False,
        skipped_limit: int | None = None,
        include_report: bool = False,
    ) -> dict[str, Any]:
        """Get-MigrationUserStatistics: counts, bytes, durations; ``SkippedItems`` (at
        most ``skipped_limit``) with ``include_skipped``, the timeline as ``Report``
        (a line per event) with ``include_report``."""
        from mailferry.service.batches import users
        from mailferry.service.properties import user_statistics_properties

        found = users.listed_user(self._ctx, email)
        skipped = (
            users.skipped_items(self._ctx, found.user, skipped_limit) if include_skipped else []
        )
        record = user_statistics_properties(
            found.user, skipped, self.now(), include_skipped, batch_started=found.batch_started
        )
        if include_report:
            record["Report"] = users.user_report(self._ctx, found.user)
        return record

    def sync_user(self, email: str) -> dict[str, Any]:
        """Set-MigrationUser -SyncNow: an incremental sync of one synced user."""
        from mailferry.service.batches.users import user_sync_now

        user_sync_now(self._ctx, email)
        return self.get_user(email)

    def stop_user(self, email: str) -> dict[str, Any]:
        """Stopped at once, or Stopping while its running job is cancelled (``wait_user``)."""
        from mailferry.service.batches.user_actions import stop_user

        stop_user(self._ctx, email)
        return self.get_user(email)

    def start_user(self, email: str) -> dict[str, Any]:
        """Resume a Stopped user, or retry a Failed / IncrementalFailed one."""
        from mailferry.service.batches.user_actions import start_user

        start_user(self._ctx, email)
        return self.get_user(email)

    def remove_user(self, email: str, *, force: bool = False) -> dict[str, Any]:
        """Purge a user, its password and its sync state (copied mail stays on the
        target). ``Purged`` False: it is Removing until its running job has been
        cancelled (``User`` is its view; ``wait_user`` waits for that)."""
        from mailferry.service.batches.user_actions import remove_user

        removal = remove_user(self._ctx, email, force=force)
        view: dict[str, Any] = {
            "EmailAddress": removal.email_address,
            "BatchId": removal.batch,
            "Purged": removal.purged,
        }
        if not removal.purged:
            view["User"] = self.get_user(email)
        return view

    def wait_user(self, email: str) -> dict[str, Any] | None:
        """Wait (at most the claim lease and a grace) until a Stopping / Removing user's
        job has ended, finishing its Stop or Remove then; the user's view as it is then
        (None once purged). The job is cancelled by the scheduler that runs it."""
        from mailferry.service.batches.user_actions import finish_user_action
        from mailferry.service.batches.users import get_user
        from mailferry.service.properties import user_properties

        user_id = get_user(self._ctx, email).id
        deadline = time.monotonic() + self.lease_seconds + GRACE_SECONDS
        while True:
            current = finish_user_action(self._ctx, user_id)
            if current is None:
                return None
            if current.status.value not in _WINDING_DOWN or time.monotonic() >= deadline:
                return user_properties(current)
            time.sleep(self.poll_seconds)
