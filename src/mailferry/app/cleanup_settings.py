"""The automatic clean-up's periods, read from the environment (``app.settings``).

``MAILFERRY_CLEANUP_STOP_SYNCED_DAYS`` (60), ``MAILFERRY_CLEANUP_REMOVE_STOPPED_DAYS``
(90), ``MAILFERRY_CLEANUP_REMOVE_COMPLETED_DAYS`` (60): whole or fractional days; 0
turns the rule off. Unset or empty keeps the default.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from mailferry.errors import InvalidSetting

CLEANUP_ENV = {
    "stop_synced_after": "MAILFERRY_CLEANUP_STOP_SYNCED_DAYS",
    "remove_stopped_after": "MAILFERRY_CLEANUP_REMOVE_STOPPED_DAYS",
    "remove_completed_after": "MAILFERRY_CLEANUP_REMOVE_COMPLETED_DAYS",
}
"""ServiceSettings field -> the variable it is read from."""


def cleanup_periods(env: Mapping[str, str]) -> dict[str, dt.timedelta | None]:
    """The ServiceSettings fields of the variables that are set (None: the rule is off)."""
    found: dict[str, dt.timedelta | None] = {}
    problems: list[str] = []
    for field, name in CLEANUP_ENV.items():
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            days = float(text)
        except ValueError:
            days = math.nan
        if not math.isfinite(days) or days < 0 or days > 36500:
            problems.append(f"{name} {text!r} must be a number of days from 0 (never) to 36500")
            continue
        found[field] = None if days == 0 else dt.timedelta(days=days)
    if problems:
        raise InvalidSetting(problems)
    return found
