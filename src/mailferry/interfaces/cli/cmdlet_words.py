"""Errors of a cmdlet-named command line name the parameters the user typed
(``-CSVData``), never the native options they were translated to (``--csv``).

``main`` runs a translated line inside :func:`speaking_as`; the one place errors are
printed (``failures.error_line``) and the usage errors click raises pass their words
through :func:`spoken`. Outside a cmdlet line nothing is renamed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar

from mailferry.interfaces.cli.cmdlet_parse import Param

_RENAMES: ContextVar[Mapping[str, str] | None] = ContextVar("cmdlet_renames", default=None)


def renames(params: Sequence[Param]) -> dict[str, str]:
    """Native option -> the cmdlet's parameter (``--csv`` -> ``-CSVData``)."""
    return {p.option: f"-{p.name}" for p in params if p.option is not None}


@contextlib.contextmanager
def speaking_as(params: Sequence[Param]) -> Iterator[None]:
    token = _RENAMES.set(renames(params))
    try:
        yield
    finally:
        _RENAMES.reset(token)


def spoken(text: str) -> str:
    """``text`` with each native option of the running cmdlet named as typed."""
    names = _RENAMES.get()
    if not names:
        return text
    pattern = "|".join(re.escape(o) for o in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<![\w-])(?:{pattern})(?![\w-])", lambda m: names[m.group(0)], text)
