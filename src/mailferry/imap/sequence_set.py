"""IMAP sequence sets (RFC 3501 ``sequence-set``): ``"1:3,7,9:10"`` <-> numbers.

Parsing keeps the order the server wrote (COPYUID pairs source and target UIDs
by position); a range ``a:b`` expands ascending whatever order its ends are in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailferry.errors import LocalProtocolError, RemoteProtocolError, ResponseTooLarge

#: Largest valid sequence number or UID (``nz-number`` is a 32-bit unsigned value).
MAX_NUMBER = 2**32 - 1
#: Cap on how many numbers one set may expand into (a hostile ``1:4294967295``).
MAX_EXPANSION = 10_000_000

_ELEMENT = re.compile(r"([1-9][0-9]{0,9}|\*)(?::([1-9][0-9]{0,9}|\*))?\Z")


def _bad(text: str, why: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"invalid sequence set ({why}): {text[:60]!r}")


def _number(token: str, text: str, star: int | None) -> int:
    if token == "*":
        if star is None:
            raise _bad(text, "'*' without a known maximum")
        return star
    value = int(token)
    if value > MAX_NUMBER:
        raise _bad(text, "number over 2**32-1")
    return value


def parse_sequence_set(
    text: str, *, star: int | None = None, limit: int = MAX_EXPANSION
) -> tuple[int, ...]:
    """Expand ``text`` into numbers; ``*`` stands for ``star`` (an error when None)."""
    if not text:
        raise _bad(text, "empty")
    numbers: list[int] = []
    for element in text.split(","):
        match = _ELEMENT.match(element)
        if match is None:
            raise _bad(text, f"bad element {element[:20]!r}")
        first = _number(match.group(1), text, star)
        last_token = match.group(2)
        if last_token is None:
            numbers.append(first)
        else:
            last = _number(last_token, text, star)
            low, high = (first, last) if first <= last else (last, first)
            total = len(numbers) + high - low + 1
            if total > limit:
                raise ResponseTooLarge("sequence set expansion", total, limit)
            numbers.extend(range(low, high + 1))
        if len(numbers) > limit:
            raise ResponseTooLarge("sequence set expansion", len(numbers), limit)
    return tuple(numbers)


def format_sequence_set(numbers: Iterable[int]) -> str:
    """Sorted, deduplicated, compressed: ``[3, 1, 2, 7, 9, 10]`` -> ``"1:3,7,9:10"``.

    Raises LocalProtocolError for an empty input or a number outside 1..2**32-1.
    """
    ordered = sorted(set(numbers))
    if not ordered:
        raise LocalProtocolError("cannot format an empty sequence set")
    if ordered[0] < 1 or ordered[-1] > MAX_NUMBER:
        raise LocalProtocolError(f"sequence number out of range: {ordered[0]}..{ordered[-1]}")
    parts: list[str] = []
    start = prev = ordered[0]
    for number in ordered[1:]:
        if number == prev + 1:
            prev = number
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = number
    parts.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(parts)
