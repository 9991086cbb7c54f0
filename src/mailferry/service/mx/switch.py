"""The cut-over seen from DNS: record, on every batch whose users' domain now points
at the target, the first time that was seen (Remove warns about syncs older than it)."""

from __future__ import annotations

from mailferry.service.batches.manage import record_mx_switch
from mailferry.service.context import ServiceContext
from mailferry.service.mx.check import MxCheckResult, domains_of
from mailferry.service.statuses import BatchStatus


def record_mx_result(ctx: ServiceContext, result: MxCheckResult) -> list[str]:
    """Names of the batches that got their MX switch time from this check."""
    if not result.points_to_target:
        return []
    recorded = []
    for batch in ctx.store.batches():
        if batch.status == BatchStatus.REMOVING or batch.mx_switched_at is not None:
            continue
        domains = domains_of(u.email_address for u in ctx.store.users(batch_id=batch.id))
        if result.domain in domains and record_mx_switch(ctx, batch.name, result.checked_at):
            recorded.append(batch.name)
    return recorded
