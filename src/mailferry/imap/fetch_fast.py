"""The FETCH hot path: a simple first segment read without tokens.

Most FETCH lines hold only simple items (``UID 7``, ``FLAGS (\\Seen)``,
``INTERNALDATE "..."``, ``MODSEQ (5)``), optionally ending with a body item
whose literal follows. ``fast_fetch`` reads such a segment: one match checks
the layout, one findall extracts the items. Every response to one FETCH
command lists the same items in the same order, so a layout of common items
is also compiled into a *shape*: one expression with a group per value (and
a reader per group), tried first from then on; the last few shapes are kept.
Each shape also has a form for the whole first line, ``* n FETCH (...) {size}``,
which ``fetch_head`` (what the parser calls) tries first, and one for a
whole response from its first byte (looser where the readers check anyway),
which ``fetch_run`` loops over.
A shape only matches text the general reading accepts, and reads it the same
way. Anything that is not simple gives None: the caller falls back to tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailferry.errors import RemoteProtocolError, ResponseTooLarge
from mailferry.imap.datetimes import parse_internaldate
from mailferry.imap.fetch import (
    BODY,
    DATE,
    FLAGS,
    GENERIC,
    MODSEQ,
    NUMBER,
    body_item,
    flag_name,
    item_name,
)
from mailferry.imap.tokenizer import MAX_DIGITS, atom_value, decode, excerpt, to_int

_WORD = rb'\\?[^\x00-\x20\x7f(){"\\\[\]]+'
_WORDS = rb"\((?:" + _WORD + rb"(?: " + _WORD + rb")*)?\)"
_QUOTED = rb'"[^"\\\r\n]*"'
_ITEM = rb"([A-Za-z0-9.\-]+) (?:([0-9]+)|(" + _WORDS + rb")|(" + _QUOTED + rb"))"
_FAST_LINE = re.compile(
    rb" ?\((?:" + _ITEM + rb" )*(?:" + _ITEM + rb"\)|((?:BODY|BINARY|RFC822)[^ ()]*))\Z"
)
_FAST_ITEM = re.compile(_ITEM)
_CACHE_LIMIT = 4096
_MAX_SHAPES = 4

#: Parsed FETCH attributes and the name of the trailing body item (None if none).
FastFetch = tuple[dict[str, object], bytes | None]
#: From a whole first line: sequence number, attributes, body item name and literal size
#: (both None when the line holds no body item).
FastHead = tuple[int, dict[str, object], str | None, int | None]
_Read = Callable[[bytes], object]
_Values = Callable[[Sequence[bytes]], dict[str, object]]


@dataclass(frozen=True, slots=True)
class Shape:
    """A learned layout of simple items (see the module docstring)."""

    pattern: re.Pattern[bytes]  # the first segment, as fast_fetch sees it
    items: tuple[tuple[str, _Read], ...]  # (attribute name, reader of its group)
    body: bytes | None
    line: re.Pattern[bytes] | None  # the whole first line (None: body item not streamable)
    item: str | None  # body_item(body)
    run: re.Pattern[bytes] | None  # a whole response from its first byte, for fetch_run
    values: _Values  # the attributes from run.match(...).groups()


_SHAPES: list[Shape] = []


def shapes() -> list[Shape]:
    """The learned shapes, most recent first (the list itself: do not change it)."""
    return _SHAPES


def fast_fetch(text: bytes) -> FastFetch | None:
    """Attributes of a simple first FETCH segment and its trailing body item name.

    ``text`` is what follows ``FETCH``, up to a literal marker. None when the
    segment is not simple.
    """
    for shape in _SHAPES:
        match = shape.pattern.match(text)
        if match is not None:
            attributes: dict[str, object] = {}
            for (name, read), value in zip(shape.items, match.groups(), strict=True):
                attributes[name] = read(value)
            return attributes, shape.body
    return _fast_general(text)


def fetch_head(line: bytes, max_literal: int) -> FastHead | None:
    """A simple first line ``* n FETCH (...) [body-item {size}]``; None if not simple.

    The literal marker is a plain `` {size}`` when there is one. Raises
    ResponseTooLarge for a literal over ``max_literal`` (before reading values).
    """
    try:
        return _shaped_head(line, max_literal) or _general_head(line, max_literal)
    except ResponseTooLarge:
        raise
    except RemoteProtocolError as exc:
        raise RemoteProtocolError(f"{exc} in {excerpt(line)}") from None


def _general_head(line: bytes, max_literal: int) -> FastHead | None:
    at = line.find(b" FETCH (", 2, 16)
    number = line[2:at]
    if at < 0 or not number.isdigit():
        return None
    size = None
    end = len(line)
    if line[-1] == 0x7D:  # a literal marker "{size}"
        brace = line.rfind(b"{")
        digits = line[brace + 1 : -1]
        if not digits.isdigit() or len(digits) > 12 or line[brace - 1] != 0x20:
            return None
        size = int(digits)
        if size > max_literal:
            raise ResponseTooLarge("literal", size, max_literal)
        end = brace - 1
    quick = fast_fetch(line[at + 6 : end])
    if quick is None or (quick[1] is None) != (size is None):
        return None
    attributes, body = quick
    item = body_item(body) if body is not None else None
    if body is not None and item is None:
        return None
    return int(number), attributes, item, size


def _shaped_head(line: bytes, max_literal: int) -> FastHead | None:
    """The line through a learned shape; None if none fits."""
    for shape in _SHAPES:
        match = shape.line.match(line) if shape.line is not None else None
        if match is None:
            continue
        groups = match.groups()
        size = None
        if shape.item is not None:
            size = int(groups[-1])
            if size > max_literal:
                raise ResponseTooLarge("literal", size, max_literal)
        attributes: dict[str, object] = {}
        for (name, read), value in zip(shape.items, groups[1:], strict=False):
            attributes[name] = read(value)
        return int(groups[0]), attributes, shape.item, size
    return None


def _fast_general(text: bytes) -> FastFetch | None:
    match = _FAST_LINE.match(text)
    if match is None:
        return None
    attributes: dict[str, object] = {}
    layout: list[tuple[bytes, str, int]] | None = []  # what a shape needs; None: no shape
    for raw_name, number, words, quoted in _FAST_ITEM.findall(text):
        name, kind = item_name(raw_name)
        if name in attributes:  # the general path decides (a repeated static item fails)
            return None
        if kind == NUMBER and number:
            attributes[name] = int(number) if len(number) <= MAX_DIGITS else to_int(number)
        elif kind == FLAGS and words:
            attributes[name] = flag_list(words)
        elif kind == DATE and quoted:
            attributes[name] = parse_internaldate(quoted[1:-1])
        elif kind == MODSEQ and words[1:-1].isdigit():
            attributes[name] = to_int(words[1:-1])
        else:
            value = _other_value(kind, number, words, quoted)
            if value is _NOT_SIMPLE:
                return None
            attributes[name] = value
            layout = None
            continue
        if layout is not None:
            layout.append((raw_name, name, kind))
    body = match.group(9)
    if layout:
        _remember(layout, body)
    return attributes, body


_NOT_SIMPLE = object()


def _other_value(kind: int, number: bytes, words: bytes, quoted: bytes) -> object:
    """Values of other simple items (generic atoms, lists, quoted body sections)."""
    if kind == GENERIC and not words:
        return atom_value(number) if number else decode(quoted[1:-1])
    if kind == GENERIC:
        return tuple([atom_value(w) for w in words[1:-1].split()])
    if kind == BODY and quoted:  # a body section sent as a string
        return quoted[1:-1]
    return _NOT_SIMPLE


class _FlagLists(dict[bytes, tuple[str, ...]]):
    """Flag lists by their wire form ``(\\Seen $Label)``; a miss checks and reads one."""

    def __missing__(self, words: bytes) -> tuple[str, ...]:
        if _ONLY_WORDS.fullmatch(words) is None:
            raise RemoteProtocolError(f"not a list of flag atoms: {excerpt(words)}")
        flags = tuple([flag_name(word) for word in words[1:-1].split()])
        if len(self) < _CACHE_LIMIT:
            self[words] = flags
        return flags


_ONLY_WORDS = re.compile(_WORDS)
_FLAG_LISTS = _FlagLists()  # b"(\\Seen $Label)" -> ("\\Seen", "$Label")
#: ``(\\Seen $Label)`` -> a tuple of flags (RemoteProtocolError unless only atoms).
flag_list: _Read = _FLAG_LISTS.__getitem__


# How each kind's value is written in a shape, and read from its group.
# (Numbers longer than MAX_DIGITS do not match: the general path reports them.)
_DIGITS = rb"([0-9]{1,%d})" % MAX_DIGITS
_SHAPE_VALUES: dict[int, tuple[bytes, _Read]] = {
    NUMBER: (_DIGITS, int),
    FLAGS: (rb"(" + _WORDS + rb")", flag_list),
    DATE: (rb'"([^"\\\r\n]*)"', parse_internaldate),
    MODSEQ: (rb"\(" + _DIGITS + rb"\)", int),
}
# A run's pattern is looser where the reader checks anyway (quicker to match):
# flag lists are checked on a cache miss, dates by the date parser.
_RUN_VALUES: dict[int, bytes] = {
    NUMBER: _DIGITS,
    FLAGS: rb"(\([^)\r\n]*\))",
    DATE: rb'"([^"\r\n]*)"',
    MODSEQ: rb"\(" + _DIGITS + rb"\)",
}


def _remember(layout: list[tuple[bytes, str, int]], body: bytes | None) -> None:
    """Compile the shape of a simple segment made only of common items."""
    parts = b" ".join(re.escape(raw) + b" " + _SHAPE_VALUES[kind][0] for raw, _, kind in layout)
    loose = b" ".join(re.escape(raw) + b" " + _RUN_VALUES[kind] for raw, _, kind in layout)
    start = rb"\* ([0-9]{1,10}) FETCH \("
    items = tuple((name, _SHAPE_VALUES[kind][1]) for _, name, kind in layout)
    if body is None:
        pattern = re.compile(rb" ?\(" + parts + rb"\)\Z")
        line = re.compile(rb"\* ([0-9]{1,10}) FETCH \(" + parts + rb"\)\Z")
        whole = re.compile(start + loose + rb"\)\r\n")
        shape = Shape(pattern, items, None, line, None, whole, _values_reader(items))
    else:
        ending = b" " + re.escape(body)
        pattern = re.compile(rb" ?\(" + parts + ending + rb"\Z")
        item = body_item(body)
        marker = ending + rb" \{([0-9]{1,12})\}\Z"
        head = re.compile(rb"\* ([0-9]{1,10}) FETCH \(" + parts + marker) if item else None
        run_head = ending + rb" \{([0-9]{1,12})\}\r\n"
        run = re.compile(start + loose + run_head) if item else None
        shape = Shape(pattern, items, body, head, item, run, _values_reader(items))
    _SHAPES.insert(0, shape)
    del _SHAPES[_MAX_SHAPES:]


def _values_reader(items: tuple[tuple[str, _Read], ...]) -> _Values:
    """Reads the attributes from a run match's groups (group 1 on), one dict display
    for the usual few items: much quicker than a loop or ``dict(zip(...))``."""
    if len(items) == 3:
        (n1, r1), (n2, r2), (n3, r3) = items
        return lambda g: {n1: r1(g[1]), n2: r2(g[2]), n3: r3(g[3])}
    if len(items) == 4:
        (n1, r1), (n2, r2), (n3, r3), (n4, r4) = items
        return lambda g: {n1: r1(g[1]), n2: r2(g[2]), n3: r3(g[3]), n4: r4(g[4])}
    if len(items) == 2:
        (n1, r1), (n2, r2) = items
        return lambda g: {n1: r1(g[1]), n2: r2(g[2])}
    if len(items) == 5:
        (n1, r1), (n2, r2), (n3, r3), (n4, r4), (n5, r5) = items
        return lambda g: {n1: r1(g[1]), n2: r2(g[2]), n3: r3(g[3]), n4: r4(g[4]), n5: r5(g[5])}
    return lambda g: {name: read(value) for (name, read), value in zip(items, g[1:], strict=False)}
