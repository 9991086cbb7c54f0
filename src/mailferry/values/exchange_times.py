"""Times as Microsoft's pages write them for -StartAfter / -CompleteAfter, and the
-TimeZone they are read in.

Accepted: ISO 8601 (``2026-12-15T18:00``, ``2026-12-15 18:00+01:00``) and the US forms
Exchange's examples use (``12/15/2026 6:00 PM``, ``12/15/2026 18:00``, ``12/15/2026``).
A time without a zone is wall-clock time: in the batch's -TimeZone, else UTC
(:func:`in_zone`). Ambiguous or skipped wall-clock times at a DST change take the
earlier reading (``fold=0``), as Python's zoneinfo does.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

US_FORMATS = (
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I %p",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y",
)  # fmt: skip
EXAMPLE = "2026-12-15T18:00 or 12/15/2026 6:00 PM"


def parse_exchange_time(text: str) -> dt.datetime | None:
    """The time ``text`` names (naive when it names no zone); None if unreadable."""
    value = text.strip()
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    for form in US_FORMATS:
        try:
            return dt.datetime.strptime(value.upper(), form)
        except ValueError:
            continue
    return None


def in_zone(value: dt.datetime | None, zone: ZoneInfo | None) -> dt.datetime | None:
    """``value`` in UTC: a naive one read in ``zone`` (UTC when None)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone or dt.UTC)
    return value.astimezone(dt.UTC)
