"""The cut-over seen from DNS: does a domain's MX point at the target yet? A check that
says yes is recorded on every batch of that domain (Remove warns of older syncs).

``lookup_mx`` needs no database (``mx check`` runs where there is none); the façade's
``check_mx`` also records the switch.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mailferry.app.core import AppCore
from mailferry.errors import InvalidSetting, MxCheckError

if TYPE_CHECKING:
    from mailferry.service.mx.check import MxCheckResult


async def lookup_mx(
    domain: str,
    expected: Sequence[str] = (),
    *,
    nameserver: str | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """The MX check as a view: ``Result`` PointsToTarget, PointsElsewhere, NoTargetGiven,
    or Failed (no answer: ``Reason`` and ``Error`` say why). Bad input (the domain, an
    expected host, the nameserver ``IP[:PORT]``) raises ``InvalidSetting``."""
    from mailferry.service.mx.check import check_mx

    servers, port = (None, 53) if nameserver is None else parse_nameserver(nameserver)
    try:
        result = await check_mx(domain, expected, nameservers=servers, port=port, timeout=timeout)
    except MxCheckError as error:
        if error.failure.value == "InvalidInput":
            raise InvalidSetting([str(error)]) from None
        return _failure_view(domain, expected, error)
    return _result_view(result)


def parse_nameserver(text: str) -> tuple[list[str], int]:
    """``IP``, ``IP:PORT``, ``IPv6`` or ``[IPv6]:PORT`` -> ([address], port)."""
    text = text.strip()
    port_text = ""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise InvalidSetting([f"nameserver {text!r} is not IP[:PORT]"])
        port_text = rest[1:]
    elif text.count(":") == 1:
        address, port_text = text.split(":")
    else:
        address = text
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise InvalidSetting([f"nameserver {address!r} is not an IP address"]) from None
    if not port_text:
        return [address], 53
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidSetting([f"nameserver: invalid port {port_text!r}"])
    return [address], int(port_text)


class MxUseCases(AppCore):
    async def check_mx(
        self,
        domain: str,
        expected: Sequence[str] = (),
        *,
        nameserver: str | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """``lookup_mx``, and when it points at the target, the switch recorded on the
        batches of that domain (``RecordedOn`` names them)."""
        view = await lookup_mx(domain, expected, nameserver=nameserver, timeout=timeout)
        return {**view, "RecordedOn": self.record_mx(view)}

    def record_mx(self, view: dict[str, Any]) -> list[str]:
        """Record a ``lookup_mx`` answer that points at the target on every batch of its
        domain not yet switched; their names."""
        import datetime as dt

        from mailferry.service.mx.check import MxCheckResult
        from mailferry.service.mx.switch import record_mx_result

        if not view.get("PointsToTarget"):
            return []
        result = MxCheckResult(
            domain=view["Domain"],
            records=(),
            expected=tuple(view["Expected"]),
            points_to_target=True,
            checked_at=dt.datetime.fromisoformat(view["CheckedAt"]),
            detail=view["Detail"],
        )
        return record_mx_result(self._ctx, result)


def _result_view(result: MxCheckResult) -> dict[str, Any]:
    """The result as JSON-ready data (PascalCase, like the other cmdlet-style outputs)."""
    if not result.expected:
        verdict = "NoTargetGiven"
    else:
        verdict = "PointsToTarget" if result.points_to_target else "PointsElsewhere"
    return {
        "Domain": result.domain,
        "Result": verdict,
        "PointsToTarget": result.points_to_target,
        "Expected": list(result.expected),
        "Records": [
            {"Preference": r.preference, "Exchange": r.exchange, "IsTarget": result.is_target(r)}
            for r in result.records
        ],
        "ImplicitMx": result.implicit_mx,
        "CheckedAt": result.checked_at.isoformat(),
        "Detail": result.detail,
        "Error": None,
    }


def _failure_view(domain: str, expected: Sequence[str], error: MxCheckError) -> dict[str, Any]:
    return {
        "Domain": domain,
        "Result": "Failed",
        "PointsToTarget": False,
        "Expected": list(expected),
        "Reason": error.failure.value,
        "Nameservers": list(error.nameservers),
        "Error": str(error),
    }
