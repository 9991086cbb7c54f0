"""Records as text: PowerShell-style Format-Table / Format-List, JSON and JSON lines.

A *record* is a flat-ish mapping of property name to a JSON-ready value (datetimes are
already strings). ``--property`` patterns pick properties the way PowerShell does:
case-insensitive ``*`` / ``?`` wildcards, comma-separated lists, in the order the patterns
are written (a wildcard expands in the record's own order). Text formats show control,
bidi and invisible characters escaped (``safe_text``); JSON stays exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import click

from mailferry.interfaces.cli.safe_text import printable

FORMATS = ("table", "list", "json", "jsonl")
DEFAULT_WIDTH = 120
ELLIPSIS = "…"
_MIN_COLUMN = 4
_LINE_BREAKS = ("\x85", "\u2028", "\u2029")  # json leaves them raw; splitlines() breaks there


class PropertyError(click.UsageError):
    """No property of a record matches any of the requested patterns."""

    def __init__(self, patterns: Sequence[str], available: Sequence[str]) -> None:
        wanted = ", ".join(patterns)
        shown = ", ".join(available) or "(none)"
        super().__init__(f"no property matches {wanted}. Available properties: {shown}")
        self.patterns = tuple(patterns)
        self.available = tuple(available)


def split_patterns(patterns: Sequence[str]) -> list[str]:
    """``["A,B", " Max* "]`` → ``["A", "B", "Max*"]`` (empty parts dropped)."""
    return [part.strip() for pattern in patterns for part in pattern.split(",") if part.strip()]


def _matcher(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def select_properties(record: Mapping[str, Any], patterns: Sequence[str]) -> dict[str, Any]:
    """The properties of ``record`` that match any pattern; all of them when there is none.

    Order follows the patterns (as PowerShell's ``Format-List B,A`` shows B first); the keys
    one wildcard matches keep the record's order. A pattern that matches nothing is fine as
    long as another one matches; if nothing matches at all, :class:`PropertyError`.
    """
    parts = split_patterns(patterns)
    if not parts:
        return dict(record)
    chosen: dict[str, Any] = {}
    for part in parts:
        regex = _matcher(part)
        for key, value in record.items():
            if key not in chosen and regex.fullmatch(key):
                chosen[key] = value
    if not chosen and record:
        raise PropertyError(parts, list(record))
    return chosen


def display_value(value: Any) -> str:
    """One value as PowerShell's formatters show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = "; ".join(f"{k}={display_value(v)}" for k, v in value.items())
        return "@{" + inner + "}"
    if isinstance(value, list | tuple | set | frozenset):
        return "{" + ", ".join(display_value(v) for v in value) + "}"
    return str(value)


def render(
    records: Sequence[Mapping[str, Any]],
    fmt: str,
    properties: Sequence[str] = (),
    *,
    single: bool = False,
    width: int = DEFAULT_WIDTH,
) -> str:
    """``records`` in ``fmt`` (table, list, json, jsonl), without a trailing newline.

    ``single=True`` (one record asked for, e.g. ``endpoint get NAME``) makes ``json`` an object
    instead of a one-element array, like ``ConvertTo-Json``; with no or several records it
    stays an array.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    chosen = [select_properties(record, properties) for record in records]
    if fmt == "json":
        data: Any = chosen[0] if single and len(chosen) == 1 else chosen
        return json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if fmt == "jsonl":
        return "\n".join(_json_line(record) for record in chosen)
    if fmt == "list":
        return format_list(chosen)
    return format_table(chosen, width=width)


def _json_line(record: Mapping[str, Any]) -> str:
    """Compact JSON on exactly one line, even for readers that split on U+2028 or NEL."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    for char in _LINE_BREAKS:
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def emit(
    records: Sequence[Mapping[str, Any]],
    fmt: str,
    properties: Sequence[str] = (),
    *,
    single: bool = False,
    stream: TextIO,
) -> None:
    """Write :func:`render`'s text and a newline to ``stream`` (nothing for no output)."""
    text = render(records, fmt, properties, single=single)
    if text:
        stream.write(text + "\n")
        stream.flush()


def format_list(records: Sequence[Mapping[str, Any]]) -> str:
    """``Name : value`` blocks, names padded to the longest, a blank line between records."""
    blocks = []
    for record in records:
        if not record:
            continue
        pad = max(len(name) for name in record)
        lines = []
        for name, value in record.items():
            first, *rest = _shown_lines(display_value(value))
            lines.append(f"{name.ljust(pad)} : {first}".rstrip())
            lines.extend((" " * (pad + 3) + more).rstrip() for more in rest)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_table(records: Sequence[Mapping[str, Any]], *, width: int = DEFAULT_WIDTH) -> str:
    """Aligned columns under a header and dashes; cells cut with ``…`` to fit ``width``."""
    columns: list[str] = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    if not columns:
        return ""
    cells = [[_one_line(display_value(r.get(c))) for c in columns] for r in records]
    numeric = [_is_numeric_column(records, c) for c in columns]
    natural = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    widths = _fit(natural, width)
    rows = [columns, ["-" * len(c) for c in columns], *cells]
    lines = []
    for row in rows:
        parts = [
            _cut(text, w).rjust(w) if right else _cut(text, w).ljust(w)
            for text, w, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append(" ".join(parts).rstrip())
    return "\n".join(lines)


def _shown_lines(text: str) -> list[str]:
    """A value's lines (split at line feeds only), each made safe to print: any other
    control or separator character is shown escaped, so it can't fake a line."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return [printable(line) for line in lines]


def _one_line(text: str) -> str:
    return " ".join(_shown_lines(text))


def _is_numeric_column(records: Sequence[Mapping[str, Any]], column: str) -> bool:
    values = [r[column] for r in records if r.get(column) is not None]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def _fit(natural: list[int], width: int) -> list[int]:
    """Shrink the widest columns until the row (with one-space gaps) fits in ``width``."""
    widths = list(natural)
    if len(widths) < 2:
        return widths
    floors = [min(w, _MIN_COLUMN) for w in widths]
    while sum(widths) + len(widths) - 1 > width:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    return widths


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS
