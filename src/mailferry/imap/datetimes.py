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
# Fast path for the canonical form: rewritten as ISO 8601 for the C parser, the
# date part ("17-Jul-1996" -> "1996-07-17") remembered (messages share days).
_DAY = re.compile(r"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4})")
_ISO_DAYS: dict[str, str] = {}
_MAX_DAYS = 4096


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
    text = raw.decode("latin-1")
    if (
        len(text) == 26
        and text[11] == " "
        and text[14] == ":"
        and text[17] == ":"
        and text[20] == " "
        and text[21] in "+-"
        and text[24] in "012345"
    ):
        day = _ISO_DAYS.get(text[:11]) or _iso_day(text[:11])
        if day:
            try:
                return dt.datetime.fromisoformat(f"{day}T{text[12:20]}{text[21:24]}:{text[24:]}")
            except ValueError:
                pass  # leap second, impossible time...: let the general path decide
    return _parse_general(raw)


def _iso_day(text: str) -> str:
    """``17-Jul-1996`` -> ``1996-07-17`` ("" if not a canonical date), remembered."""
    match = _DAY.fullmatch(text)
    month = _MONTHS.get(match.group(2).upper().encode()) if match else None
    day = ""
    if match is not None and month is not None:
        day = f"{match.group(3)}-{month:02d}-{match.group(1).replace(' ', '0')}"
    if len(_ISO_DAYS) >= _MAX_DAYS:
        _ISO_DAYS.clear()
    _ISO_DAYS[text] = day
    return day


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
