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
_DATE_TEXT = re.compile(rb"( [0-9]|[0-9]{2})-([A-Za-z]{3})-([0-9]{4}) ")  # as _DATE_TIME reads it
# Fast path for the canonical form "17-Jul-1996 02:44:25 -0700": the result is
# built as (midnight of the day, in its zone) + (hours and minutes) + (seconds).
# Each part is remembered once the general parser has accepted a date-time with
# it: every part is checked on its own, and together they are all it checks.
# The keys include the separators, so a string of the right length whose parts
# are all known is canonical. Messages share days and zones, and there are only
# 1440 hour:minute pairs; a new pair of known day and known zone is cheap.
_DAYS: dict[bytes, dict[bytes, dt.datetime]] = {}  # b" -0700" -> b"17-Jul-1996 " -> midnight
_DATES: dict[bytes, tuple[int, int, int]] = {}  # b"17-Jul-1996 " -> (1996, 7, 17)
_OFFSETS: dict[bytes, dt.tzinfo] = {}  # b" -0700" -> UTC-07:00
_CLOCK: dict[bytes, dt.timedelta] = {}  # b"02:44:" -> 2:44:00
_SECONDS = {b"%02d" % s: dt.timedelta(seconds=min(s, 59)) for s in range(100)}  # as the parser
_NO_DAYS: dict[bytes, dt.datetime] = {}
_MAX_DAYS = 4096
_MAX_ZONES = 256


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
    if len(raw) == 26:
        day = _DAYS.get(raw[20:], _NO_DAYS).get(raw[:12])
        clock = _CLOCK.get(raw[12:18])
        seconds = _SECONDS.get(raw[18:20])
        if day is not None and clock is not None and seconds is not None:
            return day + clock + seconds
        return _from_parts(raw)
    return _parse_general(raw)


def _from_parts(raw: bytes) -> dt.datetime:
    """A date-time of the canonical length whose day (in its zone) or clock is new:
    built from remembered parts if all are known, else read by the general parser
    (and its parts remembered)."""
    zone = _OFFSETS.get(raw[20:])
    date = _DATES.get(raw[:12]) or _new_date(raw[:12], zone)
    clock = _CLOCK.get(raw[12:18])
    seconds = _SECONDS.get(raw[18:20])
    if date is None or zone is None or clock is None or seconds is None:
        value = _parse_general(raw)
        if not (raw[11] == 0x20 and raw[14] == 0x3A and raw[17] == 0x3A and raw[20] == 0x20):
            return value
        _remember_parts(raw, value)
        return value
    midnight = dt.datetime(*date, tzinfo=zone)
    days = _DAYS.get(raw[20:])
    if days is None:
        if len(_DAYS) >= _MAX_ZONES:
            _DAYS.clear()
        days = _DAYS[raw[20:]] = {}
    if len(days) >= _MAX_DAYS:
        days.clear()
    days[raw[:12]] = midnight
    return midnight + clock + seconds


def _new_date(text: bytes, zone: dt.tzinfo | None) -> tuple[int, int, int] | None:
    """``b"17-Jul-1996 "`` read and remembered if it is a valid day (None if not, or
    if the zone is unknown: then the general parser reads the whole)."""
    match = _DATE_TEXT.fullmatch(text) if zone is not None else None
    month = _MONTHS.get(match.group(2).upper()) if match is not None else None
    if match is None or month is None:
        return None
    date = (int(match.group(3)), month, int(match.group(1)))
    try:
        dt.datetime(*date)
    except ValueError:
        return None
    if len(_DATES) >= _MAX_DAYS:
        _DATES.clear()
    _DATES[text] = date
    return date


def _remember_parts(raw: bytes, value: dt.datetime) -> None:
    if len(_DATES) >= _MAX_DAYS:
        _DATES.clear()
    _DATES[raw[:12]] = (value.year, value.month, value.day)
    if len(_OFFSETS) < _MAX_ZONES and value.tzinfo is not None:
        _OFFSETS[raw[20:]] = value.tzinfo
    _CLOCK[raw[12:18]] = dt.timedelta(hours=value.hour, minutes=value.minute)


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
