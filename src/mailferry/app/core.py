"""What every part of the façade shares: the opened service context, and how it opens.

``AppCore`` holds the ``ServiceContext`` (store, vault, settings, clock) built from the
environment once per process (or per CLI command), and the ``describe`` function that
turns an error into words for the views that carry a reason (a failed step, a user's
error): the interfaces pass theirs, so a reason reads the same everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

from mailferry.app.requests import ServiceChanges
from mailferry.app.settings import build_context, smtp_settings
from mailferry.errors import MailferryError

if TYPE_CHECKING:
    from mailferry.service.context import ServiceContext, ServiceSettings

Describe = Callable[[MailferryError], str]
Clock = Callable[[], dt.datetime]


class AppCore:
    """The shared state of the façade's parts (see ``mailferry.app.Mailferry``)."""

    def __init__(
        self, ctx: ServiceContext, env: Mapping[str, str], describe: Describe = str
    ) -> None:
        self._ctx = ctx
        self._env = dict(env)
        self._describe = describe

    @classmethod
    def open(
        cls,
        db_url: str | None,
        env: Mapping[str, str],
        *,
        describe: Describe = str,
        clock: Clock | None = None,
        changes: ServiceChanges | None = None,
    ) -> Self:
        """Settings from ``env`` (checked first: cheap), the vault key, then the
        database (``db_url``, else ``MAILFERRY_DB``, else the home's SQLite file),
        migrated to the newest schema. ``changes`` override settings (``serve``'s
        options); ``clock`` replaces the system clock (tests)."""
        ctx = build_context(db_url, env)
        try:
            if changes is not None:
                ctx.settings = _changed(ctx.settings, changes, env)
            if clock is not None:
                ctx.clock = clock
        except BaseException:
            ctx.store.close()
            raise
        return cls(ctx, env, describe)

    def close(self) -> None:
        self._ctx.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> dt.datetime:
        return self._ctx.now()

    @property
    def lease_seconds(self) -> float:
        """How long a job's claim lasts without a heartbeat."""
        return self._ctx.settings.lease.total_seconds()

    @property
    def poll_seconds(self) -> float:
        return self._ctx.settings.poll_seconds


def _changed(
    settings: ServiceSettings, changes: ServiceChanges, env: Mapping[str, str]
) -> ServiceSettings:
    values: dict[str, Any] = {
        "incremental_interval": changes.incremental_interval,
        "report_interval": changes.report_interval,
        "poll_seconds": changes.poll_seconds,
        "lease": changes.lease,
        "retry_base_seconds": changes.retry_base_seconds,
        "max_attempts": changes.max_attempts,
        "smtp": smtp_settings(
            changes.smtp_server, changes.smtp_security, changes.smtp_user, changes.smtp_from, env
        ),
    }
    return dataclasses.replace(settings, **{k: v for k, v in values.items() if v is not None})
