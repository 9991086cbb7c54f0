"""Exchange's ``-ContentFilter`` for IMAP migrations: a window on the Received time.

``New-MigrationBatch -ContentFilter`` takes an OPATH filter on Received only, e.g.
``Received -gt '8/23/2020'`` or ``Received -ge '2020-01-01' -and Received -lt
'2021-01-01'``. For IMAP, Received is the message's INTERNALDATE; a message outside the
window is not migrated (and is not a skipped item). :func:`parse_content_filter` turns
the text into a :class:`ReceivedWindow`; anything else is refused with the reason and
the character (1-based) where it was found.

What is accepted, and the choices made:

- The property ``Received`` (any case); operators ``-gt -ge -lt -le`` (any case);
  conditions joined with ``-and``. ``-or``, ``-not``, ``!``, parentheses and braces
  are refused: one filter is one window. Two bounds on one side keep the stricter.
- ``-eq`` is refused: no message is received at exactly a date's midnight, and
  reading it as "that whole day" would differ from Exchange; the message shows the
  ``-ge``/``-lt`` pair for one day.
- Dates are quoted ('…' or "…", typographic quotes too, as PowerShell allows):
  ``yyyy-mm-dd`` optionally with ``THH:MM[:SS]`` or `` HH:MM[:SS]`` and a zone (``Z``,
  ``+02:00``); or Exchange's ``M/d/yyyy`` with an optional `` HH:MM[:SS]``.
- ``M/d/yyyy`` where both first numbers are 12 or less and differ (``3/4/2020``) is
  refused as ambiguous: Exchange reads 4 March, a Danish admin means 3 April. The
  message gives both ISO dates. ``23/8/2020`` is refused too (there is no month 23),
  with its ISO spelling.
- A date without a time is that day's midnight: ``-gt '2020-08-23'`` admits
  2020-08-23 00:00:01. Without a zone, times are UTC (as Exchange Online reads them).
- A window that admits nothing (the start not before the end) is an error.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailferry.errors import ContentFilterError

UTC = dt.UTC
OPERATORS = ("-gt", "-ge", "-lt", "-le")
EXAMPLE = "Received -ge '2020-01-01' -and Received -lt '2021-01-01'"

_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_DOUBLE_QUOTES = '"\u201c\u201d\u201e'
_PUNCTUATION = "(){}"
_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]" + _TIME + r"\s*(Z|[+-]\d{2}:?\d{2})?)?", re.I
)
_SLASH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: +" + _TIME + r")?")


@dataclass(frozen=True)
class ReceivedWindow:
    """Which Received times (INTERNALDATEs) a migration copies: aware UTC bounds, either
    of which may be open (None). At least one bound; the start before the end."""

    after: dt.datetime | None
    after_inclusive: bool
    before: dt.datetime | None
    before_inclusive: bool

    def __post_init__(self) -> None:
        if self.after is None and self.before is None:
            raise ValueError("a Received window needs a start or an end")
        for name in ("after", "before"):
            value = getattr(self, name)
            if value is None:  # an open side has no inclusiveness: one spelling per window
                object.__setattr__(self, f"{name}_inclusive", False)
                continue
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"naive datetime {value!r}: the bounds must be aware")
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.after is not None and self.before is not None and self.after >= self.before:
            start, end = self._clauses()
            raise ContentFilterError(
                f"the filter admits no message: its start ({start}) is not before its end ({end})"
            )

    def admits(self, when: dt.datetime | None) -> bool:
        """Whether a message received at ``when`` is migrated. A message without an
        INTERNALDATE is admitted (mail we cannot date is never dropped); naive is UTC."""
        if when is None:
            return True
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if self.after is not None and (
            when < self.after or (when == self.after and not self.after_inclusive)
        ):
            return False
        return (
            self.before is None
            or when < self.before
            or (when == self.before and self.before_inclusive)
        )

    def text(self) -> str:
        """The canonical filter (ISO dates, UTC): parses back to this window; also the
        fingerprint a folder's checkpoint keeps."""
        return " -and ".join(self._clauses())

    def _clauses(self) -> list[str]:
        clauses = []
        if self.after is not None:
            operator = "-ge" if self.after_inclusive else "-gt"
            clauses.append(f"Received {operator} '{_render(self.after)}'")
        if self.before is not None:
            operator = "-le" if self.before_inclusive else "-lt"
            clauses.append(f"Received {operator} '{_render(self.before)}'")
        return clauses


def scope_text(window: ReceivedWindow | None) -> str:
    """What a folder checkpoint records as the filter it was made with ('' for none)."""
    return "" if window is None else window.text()


def _render(value: dt.datetime) -> str:
    if value.time() == dt.time(0):
        return value.date().isoformat()
    spec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat("T", spec) + "Z"


# -- parsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "quoted" or one of _PUNCTUATION
    text: str
    at: int  # 1-based character position


def parse_content_filter(text: str) -> ReceivedWindow:
    """The window an Exchange ``-ContentFilter`` on Received asks for (see the module
    docstring); raises :class:`ContentFilterError` naming what is wrong and where."""
    tokens = list(_tokens(text))
    if not tokens:
        raise ContentFilterError(f"the content filter is empty; expected e.g. {EXAMPLE}")
    for token in tokens:
        _refuse_structure(token)
    lower: tuple[dt.datetime, bool] | None = None
    upper: tuple[dt.datetime, bool] | None = None
    position = 0
    while True:
        operator, when = _condition(tokens, position)
        inclusive = operator in ("-ge", "-le")
        if operator in ("-gt", "-ge"):
            if lower is None or (when, not inclusive) > (lower[0], not lower[1]):
                lower = (when, inclusive)
        elif upper is None or (when, inclusive) < (upper[0], upper[1]):
            upper = (when, inclusive)
        position += 3
        if position == len(tokens):
            break
        _expect_and(tokens, position)
        position += 1
    after, after_inclusive = lower if lower is not None else (None, False)
    before, before_inclusive = upper if upper is not None else (None, False)
    return ReceivedWindow(after, after_inclusive, before, before_inclusive)


def _tokens(text: str) -> Iterator[_Token]:
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _SINGLE_QUOTES or char in _DOUBLE_QUOTES:
            family = _SINGLE_QUOTES if char in _SINGLE_QUOTES else _DOUBLE_QUOTES
            end = next((j for j in range(i + 1, size) if text[j] in family), -1)
            if end < 0:
                raise ContentFilterError(f"the quote at character {i + 1} is never closed")
            yield _Token("quoted", text[i + 1 : end].strip(), i + 1)
            i = end + 1
        elif char in _PUNCTUATION:
            yield _Token(char, char, i + 1)
            i += 1
        else:
            start = i
            while i < size and not _ends_word(text[i]):
                i += 1
            yield _Token("word", text[start:i], start + 1)


def _ends_word(char: str) -> bool:
    return char.isspace() or char in _SINGLE_QUOTES + _DOUBLE_QUOTES + _PUNCTUATION


def _refuse_structure(token: _Token) -> None:
    """-or, -not, !, parentheses and braces: one filter is one window."""
    word = token.text.lower() if token.kind == "word" else ""
    where = f"at character {token.at}"
    if word == "-or":
        raise ContentFilterError(
            f"-or is not supported ({where}): a filter is one Received window, its "
            f"conditions joined with -and, e.g. {EXAMPLE}"
        )
    if word in ("-not", "!") or (word.startswith("!") and token.kind == "word"):
        raise ContentFilterError(
            f"-not is not supported ({where}): say which times to migrate with -gt, -ge, -lt or -le"
        )
    if token.kind in ("(", ")"):
        raise ContentFilterError(
            f"parentheses are not supported ({where}): write the conditions joined with "
            f"-and, e.g. {EXAMPLE}"
        )
    if token.kind in ("{", "}"):
        raise ContentFilterError(
            f"braces are not supported ({where}): give the filter as text, e.g. {EXAMPLE}"
        )


def _condition(tokens: list[_Token], position: int) -> tuple[str, dt.datetime]:
    """``Received <operator> '<date>'`` starting at ``tokens[position]``."""
    name = tokens[position]
    if name.kind != "word" or name.text.lower() != "received":
        shown = f"'{name.text}'" if name.kind == "quoted" else name.text
        raise ContentFilterError(
            f"only the property Received can be filtered on, not {shown} (at character {name.at})"
        )
    if position + 1 == len(tokens):
        raise ContentFilterError(
            f"the filter ends after {name.text!r}: expected an operator (-gt, -ge, -lt or -le)"
        )
    operator = tokens[position + 1]
    _check_operator(operator, tokens[position + 2 : position + 3])
    if position + 2 == len(tokens):
        raise ContentFilterError(
            f"the filter ends after {operator.text!r}: expected a quoted date such as '2020-08-23'"
        )
    value = tokens[position + 2]
    if value.kind == "word" and value.text.startswith("-"):
        raise ContentFilterError(
            f"expected a quoted date at character {value.at}, found {value.text}"
        )
    if value.kind != "quoted":
        raise ContentFilterError(
            f"the date at character {value.at} must be in quotes: Received "
            f"{operator.text.lower()} '{value.text}'"
        )
    return operator.text.lower(), parse_date(value.text, value.at)


def _check_operator(token: _Token, value: list[_Token]) -> None:
    """One of :data:`OPERATORS`; ``value`` (the token after it, if any) words ``-eq``'s hint."""
    word = token.text.lower()
    where = f"at character {token.at}"
    if token.kind == "word" and word in OPERATORS:
        return
    if token.kind == "word" and word == "-eq":
        day = dt.date(2020, 8, 23)
        if value and value[0].kind == "quoted":
            with contextlib.suppress(ContentFilterError):
                day = parse_date(value[0].text, value[0].at).date()
        raise ContentFilterError(
            f"-eq is not supported ({where}): no message is received at exactly a date; "
            f"for one day write Received -ge '{day}' -and Received -lt "
            f"'{day + dt.timedelta(days=1)}'"
        )
    shown = f"'{token.text}'" if token.kind == "quoted" else token.text
    raise ContentFilterError(f"unknown operator {shown} {where}: use -gt, -ge, -lt or -le")


def _expect_and(tokens: list[_Token], position: int) -> None:
    token = tokens[position]
    if token.kind != "word" or token.text.lower() != "-and":
        shown = f"'{token.text}'" if token.kind == "quoted" else token.text
        raise ContentFilterError(f"expected -and at character {token.at}, found {shown}")
    if position + 1 == len(tokens):
        raise ContentFilterError(
            f"the filter ends after '-and' (at character {token.at}): expected another "
            "condition such as Received -lt '2021-01-01'"
        )


# -- dates ---------------------------------------------------------------------------


def parse_date(text: str, at: int = 1) -> dt.datetime:
    """A filter date as an aware UTC datetime; ``at`` is its position, for the messages."""
    iso = _ISO.fullmatch(text)
    if iso is not None:
        year, month, day = (int(part) for part in iso.group(1, 2, 3))
        return _build(text, at, (year, month, day), iso.group(4, 5, 6, 7), iso.group(8))
    slash = _SLASH.fullmatch(text)
    if slash is not None:
        first, second, year = (int(part) for part in slash.group(1, 2, 3))
        _check_slash_order(text, at, first, second, year)
        return _build(text, at, (year, first, second), slash.group(4, 5, 6, 7), None)
    raise ContentFilterError(
        f"'{text}' at character {at} is not a date: write yyyy-mm-dd (optionally with "
        "THH:MM[:SS]) or M/d/yyyy"
    )


def _check_slash_order(text: str, at: int, first: int, second: int, year: int) -> None:
    """M/d/yyyy (Exchange's US form) is refused where a d/M/yyyy reader means another day."""
    time = text.partition(" ")[2].strip()
    suffix = f" {time}" if time else ""
    if first <= 12 and second <= 12 and first != second:
        us, eu = _day_or_none(year, first, second), _day_or_none(year, second, first)
        if us is not None and eu is not None:
            raise ContentFilterError(
                f"'{text}' at character {at} is ambiguous: write '{us.isoformat()}{suffix}' "
                f"for {_spoken(us)} (M/d/yyyy, as Exchange reads it) or "
                f"'{eu.isoformat()}{suffix}' for {_spoken(eu)} (d/M/yyyy)"
            )
    if first > 12:
        eu = _day_or_none(year, second, first)
        hint = f"; for {_spoken(eu)} write '{eu.isoformat()}{suffix}'" if eu is not None else ""
        raise ContentFilterError(
            f"'{text}' at character {at} is not a M/d/yyyy date (there is no month {first}){hint}"
        )


def _build(
    text: str,
    at: int,
    date: tuple[int, int, int],
    clock: tuple[str | None, ...],
    zone: str | None,
) -> dt.datetime:
    year, month, day = date
    problem = _date_problem(year, month, day)
    hour, minute, second = (int(part) if part else 0 for part in clock[:3])
    micro = int((clock[3] or "").ljust(6, "0"))
    if problem is None and (hour > 23 or minute > 59 or second > 59):
        problem = f"there is no time {hour:02d}:{minute:02d}:{second:02d}"
    offset = _offset(zone)
    if problem is None and offset is None:
        problem = f"there is no time zone {zone}"
    if problem is not None:
        raise ContentFilterError(f"'{text}' at character {at} is not a valid date: {problem}")
    assert offset is not None
    local = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=offset)
    try:
        return local.astimezone(UTC)
    except OverflowError:
        raise ContentFilterError(f"'{text}' at character {at} is out of range") from None


def _date_problem(year: int, month: int, day: int) -> str | None:
    if year < 1:
        return f"there is no year {year}"
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has no day {day}"
    return None


def _offset(zone: str | None) -> dt.tzinfo | None:
    """UTC for no zone or ``Z``; a fixed offset for ``+hh:mm``; None if out of range."""
    if zone is None or zone.upper() == "Z":
        return UTC
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if zone[0] == "-" else delta)


def _day_or_none(year: int, month: int, day: int) -> dt.date | None:
    return None if _date_problem(year, month, day) else dt.date(year, month, day)


def _spoken(day: dt.date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"
