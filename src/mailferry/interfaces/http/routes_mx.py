"""``/mx/{domain}``: does the domain's MX point at the target yet? (recorded on its
batches when it does: Remove-MigrationBatch warns of syncs older than the switch)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from mailferry.interfaces.http.depends import Access, Domain, Facade, Routes
from mailferry.interfaces.http.schemas import MxView


async def check_mx(
    mailferry: Facade,
    domain: Domain,
    expected: Annotated[
        list[str] | None, Query(description="The target's MX host names (repeat).")
    ] = None,
    nameserver: Annotated[str | None, Query(description="Ask this resolver, IP[:PORT].")] = None,
    timeout: Annotated[float, Query(gt=0, le=30, description="Seconds per DNS query.")] = 5.0,
) -> dict[str, Any]:
    """Look the MX up now; a switch to the target is recorded (``RecordedOn``)."""
    return await mailferry.check_mx(domain, expected or (), nameserver=nameserver, timeout=timeout)


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(tags=["mx"]), read, write)
    table.add("POST", "/mx/{domain}", check_mx, response_model=MxView)
    return table.router
