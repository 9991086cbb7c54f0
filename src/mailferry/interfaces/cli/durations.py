"""The ``duration`` option type of the CLI: ``90``, ``90s``, ``15m``, ``24h``, ``1d``.

Its own small module, so commands that must start light (``migrate --help`` loads no
database code) can use it without importing ``serve``.
"""

from __future__ import annotations

import datetime as dt
import re

import click

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class DurationType(click.ParamType[dt.timedelta]):
    """``90``, ``90s``, ``15m``, ``24h``, ``1d`` (seconds without a unit)."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        match = _DURATION.match(str(value))
        if match is None:
            self.fail(f"{value!r} is not a duration like 90s, 15m, 24h or 1d", param, ctx)
        unit = (match.group(2) or "s").lower()
        return dt.timedelta(seconds=float(match.group(1)) * _UNIT[unit])


DURATION = DurationType()
