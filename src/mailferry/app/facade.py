"""``Mailferry``: the one object every interface calls (see ``mailferry.app``).

Composed of one mixin per use-case group, each in its own module over the shared
``AppCore`` (the opened ``ServiceContext``). Mixins, not sub-objects, because the
interfaces want one flat vocabulary (``app.start_batch(name)``, as Exchange's cmdlets
are flat), while each group stays a small module of its own; ``tokens`` is the one
sub-object (helper T's ``TokenAdmin``: token rows are not migration use cases).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from mailferry.app.batches import BatchUseCases
from mailferry.app.endpoints import EndpointUseCases
from mailferry.app.events import EventUseCases
from mailferry.app.mx import MxUseCases
from mailferry.app.oneshot import OneShotUseCases
from mailferry.app.scheduling import SchedulingUseCases
from mailferry.app.users import UserUseCases
from mailferry.app.workers import WorkerUseCases

if TYPE_CHECKING:
    from mailferry.app.admins import AdminAccounts
    from mailferry.app.tokens import TokenAdmin


class Mailferry(
    EndpointUseCases,
    BatchUseCases,
    UserUseCases,
    MxUseCases,
    OneShotUseCases,
    EventUseCases,
    SchedulingUseCases,
    WorkerUseCases,
):
    """Every use case, over one opened service context (``Mailferry.open(...)``)."""

    @cached_property
    def tokens(self) -> TokenAdmin:
        """API tokens: ``new``, ``list``, ``revoke``, ``check`` (stored as hashes)."""
        from mailferry.app.tokens import TokenAdmin

        return TokenAdmin(self._ctx)

    @cached_property
    def admins(self) -> AdminAccounts:
        """Web console administrators: ``new``, ``list``, ``remove``, ``check``."""
        from mailferry.app.admins import AdminAccounts

        return AdminAccounts(self._ctx)
