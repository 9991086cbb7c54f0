"""INTERNALDATE parsing: the fast path (ISO rewrite, remembered days) agrees with the rest."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.errors import RemoteProtocolError
from mailferry.imap.datetimes import _parse_general, parse_internaldate

_DAY = st.sampled_from(["17", " 7", "07", "7 ", "31", "00", "32", "1", "x7", "29", "30"])
_MONTH = st.sampled_from(["Jul", "JUL", "jul", "jUl", "Feb", "Foo", "Ju"])
_YEAR = st.sampled_from(["1996", "2024", "2023", "0001", "9999", "199x", "19961"])
_TIME = st.sampled_from(["02:44:25", "23:59:60", "24:00:00", "00:60:00", "2:44:25", "02.44.25"])
_ZONE = st.sampled_from(["-0700", "+0000", "+0530", "+2359", "+2400", "-0760", "+07:0", "0700"])
_SEP = st.sampled_from([" ", "  ", "T"])


@settings(max_examples=400, deadline=None)
@given(_DAY, _MONTH, _YEAR, _TIME, _ZONE, _SEP)
def test_fast_path_agrees_with_the_general_parser(
    day: str, month: str, year: str, time: str, zone: str, sep: str
) -> None:
    raw = f"{day}-{month}-{year}{sep}{time} {zone}".encode()
    for _ in range(2):  # the second time with the day remembered
        assert_parses_as_the_general_parser(raw)


def assert_parses_as_the_general_parser(raw: bytes) -> None:
    try:
        expected: dt.datetime | None = _parse_general(raw)
    except RemoteProtocolError:
        expected = None
    if expected is None:
        with pytest.raises(RemoteProtocolError):
            parse_internaldate(raw)
    else:
        parsed = parse_internaldate(raw)
        assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


def test_canonical_dates() -> None:
    zone = dt.timezone(dt.timedelta(hours=-7))
    assert parse_internaldate(b"17-Jul-1996 02:44:25 -0700") == dt.datetime(
        1996, 7, 17, 2, 44, 25, tzinfo=zone
    )
    assert parse_internaldate(b" 1-Jan-2024 00:00:00 +0000").isoformat() == (
        "2024-01-01T00:00:00+00:00"
    )
    assert parse_internaldate(b"31-Dec-2016 23:59:60 +0100").second == 59  # leap second
    with pytest.raises(RemoteProtocolError):
        parse_internaldate(b"31-Feb-2024 00:00:00 +0000")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_DAY, _MONTH, _YEAR, _TIME, _ZONE), min_size=2, max_size=6))
def test_parts_remembered_from_different_dates_combine_like_the_general_parser(
    parts: list[tuple[str, str, str, str, str]],
) -> None:
    """Days, clocks and zones learned from some date-times, recombined into new ones."""
    for day, month, year, time, zone in parts:  # learn what is valid among them
        with contextlib.suppress(RemoteProtocolError):
            parse_internaldate(f"{day}-{month}-{year} {time} {zone}".encode())
    days = [(d, m, y) for d, m, y, _, _ in parts]
    for (day, month, year), (_, _, _, time, zone) in zip(days, parts[1:] + parts[:1], strict=True):
        assert_parses_as_the_general_parser(f"{day}-{month}-{year} {time} {zone}".encode())
