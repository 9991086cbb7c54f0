"""IMAP ``date-time`` (INTERNALDATE): ``"17-Jul-1996 02:44:25 -0700"`` -> aware datetime."""

from __future__ import annotations

import datetime as dt
import re

from mailferry.errors import RemoteProtocolError

_MONTHS = {
    name: number
    for number, name in enumerate(
        (b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN")
        + (b"JUL", b"AUG", b"SEP", b"OCT", b"NOV", b"DEC"),
        start=1,
    )
}
# The day may be space-padded (" 7-Jul-1996") or, leniently, unpadded ("7-Jul-1996").
_DATE_TIME = re.compile(
    rb" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
_ZONES: dict[bytes, dt.timezone] = {}


def _zone(sign: bytes, hours: bytes, minutes: bytes) -> dt.timezone:
    key = sign + hours + minutes
    zone = _ZONES.get(key)
    if zone is None:
        offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
        zone = dt.timezone(-offset if sign == b"-" else offset)
        if len(_ZONES) < 1000:
            _ZONES[key] = zone
    return zone


def parse_internaldate(raw: bytes) -> dt.datetime:
    """Parse the contents of a quoted ``date-time``; RemoteProtocolError if malformed.

    A leap second (``:60``) is clamped to ``:59``: datetime cannot hold it.
    """
    match = _DATE_TIME.fullmatch(raw)
    month = _MONTHS.get(match.group(2).upper()) if match else None
    if match is None or month is None:
        raise RemoteProtocolError(f"malformed INTERNALDATE: {raw[:60]!r}")
    day, _, year, hour, minute, second, sign, zh, zm = match.groups()
    if int(zh) >= 24 or int(zm) >= 60:
        raise RemoteProtocolError(f"malformed INTERNALDATE time zone: {raw[:60]!r}")
    try:
        return dt.datetime(
            int(year), month, int(day), int(hour), int(minute), min(int(second), 59),
            tzinfo=_zone(sign, zh, zm),
        )  # fmt: skip
    except ValueError as exc:
        raise RemoteProtocolError(f"impossible INTERNALDATE {raw[:60]!r}: {exc}") from None
