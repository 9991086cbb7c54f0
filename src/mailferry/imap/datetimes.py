"""IMAP ``date-time`` (INTERNALDATE): ``"17-Jul-1996 02:44:25 -0700"`` -> aware datetime."""

from __future__ import annotations

import datetime as dt
import re

from mailferry.errors import RemoteProtocolError

_MONTHS = {
    name: number
    for number, name in enumerate(
        b"JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(),
        start=1,
    )
}
# The day may be space-padded (" 7-Jul-1996") or, leniently, unpadded ("7-Jul-1996").
_DATE_TIME = re.compile(
    rb" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})"
    rb" ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
_ZONES: dict[bytes, dt.timezone] = {}
# Fast path for the canonical form: rewrite it as ISO 8601 for the C parser.
_CANONICAL = re.compile(
    rb"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4})"
    rb" ([0-9]{2}:[0-9]{2}:[0-9]{2}) ([+-][0-9]{2})([0-5][0-9])"
)
_ISO_MONTHS = {
    spelling: f"-{number:02d}-"
    for name, number in _MONTHS.items()
    for spelling in (name.decode(), name.decode().title(), name.decode().lower())
}


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
    fast = _CANONICAL.fullmatch(raw)
    if fast is not None:
        day, month_name, year, time, zone_hours, zone_minutes = fast.group(1, 2, 3, 4, 5, 6)
        month_part = _ISO_MONTHS.get(month_name.decode())
        if month_part is not None:
            try:
                return dt.datetime.fromisoformat(
                    f"{year.decode()}{month_part}{day.decode().replace(' ', '0')}"
                    f"T{time.decode()}{zone_hours.decode()}:{zone_minutes.decode()}"
                )
            except ValueError:
                pass  # leap second, impossible date...: let the general path decide
    return _parse_general(raw)


def _parse_general(raw: bytes) -> dt.datetime:
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
