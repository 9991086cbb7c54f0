"""The FETCH batch path: a run of simple, complete FETCH responses read in one loop.

A big FETCH is thousands of responses of one learned shape (see
``fetch_fast``), each ``* n FETCH (items [body-item {size}]`` CRLF, the small
body, ``)`` CRLF. When the parser stands at the start of a response,
``read_run`` reads as many such responses as the buffer holds completely:
one compiled match per response (from the buffer, no line copy), the body
sliced by its size. It stops, without consuming anything, at the first
response it cannot take whole (another shape, a partial response, a body
too big to hand out whole, a value the shape's reader refuses, a cap that
would be exceeded): the parser's general path then reads that one, with the
same result or error it would have given anyway.
"""

from __future__ import annotations

from mailferry.errors import RemoteProtocolError
from mailferry.imap.fetch_fast import Shape, shapes

#: One response of a run: sequence number, attributes (body excluded), body item
#: name and body bytes (both None when the shape has no body item).
RunEntry = tuple[int, dict[str, object], str | None, bytes | None]

_CLOSE = b")\r\n"
_REMATCH = 4096  # the longest head matched again on every receive while its body arrives


def read_run(
    buf: bytearray,
    view: memoryview,
    pos: int,
    end: int,
    max_line: int,
    max_whole: int,
    max_literal: int,
) -> tuple[list[RunEntry], int, bool]:
    """The complete simple responses of one shape at ``buf[pos:end]``, where the next
    response starts, and whether that one is simple too, only not all received yet
    (then the caller waits for more bytes rather than reading it the general way)."""
    entries: list[RunEntry] = []
    limits = (max_line + 2, min(max_whole if max_whole > 0 else -1, max_literal))
    for shape in shapes() if pos < end else ():
        if shape.run is not None and shape.run.match(buf, pos, end) is not None:
            pos, stop = _same_shape(shape, buf, view, pos, end, limits, entries)
            return entries, pos, stop == _WAIT
    return entries, pos, False


_MISMATCH, _WAIT, _OTHER = 0, 1, 2  # why _same_shape stopped


def _same_shape(
    shape: Shape,
    buf: bytearray,
    view: memoryview,
    pos: int,
    end: int,
    limits: tuple[int, int],
    entries: list[RunEntry],
) -> tuple[int, int]:
    """Responses of ``shape`` from ``pos`` into ``entries``; the position after them
    and why they end: at a response of another shape (``_MISMATCH``), at one of
    this shape whose body is not all received (``_WAIT``), or else (``_OTHER``)."""
    assert shape.run is not None
    match_at = shape.run.match
    append = entries.append
    values, item = shape.values, shape.item
    max_head, max_size = limits  # a head's length with its CRLF, a body's size
    while pos < end:
        match = match_at(buf, pos, end)
        if match is None:
            return pos, _MISMATCH
        head_end = match.end()
        if head_end - pos > max_head:
            return pos, _OTHER
        groups = match.groups()
        if item is None:
            body = None
            stop = head_end
        else:
            size = int(groups[-1])
            stop = head_end + size + 3
            if size > max_size:
                return pos, _OTHER
            if stop > end:  # wait, unless matching the head again would cost much
                return pos, _WAIT if head_end - pos <= _REMATCH else _OTHER
            if not buf.startswith(_CLOSE, stop - 3):
                return pos, _OTHER
            body = view[head_end : stop - 3].tobytes()
        try:
            attributes = values(groups)
        except RemoteProtocolError:
            return pos, _OTHER  # the general path reports it, with its context
        append((int(groups[0]), attributes, item, body))
        pos = stop
    return pos, _OTHER
