"""The receive buffer under the response parser: bytes in, without a copy when possible.

Bytes arrive either through ``feed(data)`` (copied in) or are received straight
into the buffer: ``get_buffer`` offers the free room, ``buffer_updated`` says
how much arrived (the ``asyncio.BufferedProtocol`` calls). The buffer is a
``bytearray`` that is never resized while a view of it may be out: it is
compacted in place when full and replaced by a bigger (or, later, smaller) one
only when the unread bytes need it, so its pages stay warm and it grows only as
far as one line or one whole-body literal needs. ``ResponseParser`` reads
``_buf[_pos:_end]`` and advances ``_pos``.
"""

from __future__ import annotations

_MIN_FREE = 64 * 1024  # the least room get_buffer offers to receive into


class ReceiveBuffer:
    """Owns the received bytes; the parser subclass consumes them."""

    def __init__(self, buffer_size: int) -> None:
        self._initial_size = max(buffer_size, 2 * _MIN_FREE)
        self._buf = bytearray(self._initial_size)
        self._view = memoryview(self._buf)  # never resized: replaced when it must grow
        self._end = 0  # end of the received bytes in _buf
        self._pos = 0  # start of the unread bytes in _buf
        self._scan = 0  # where the parser's CRLF search resumes

    def feed(self, data: bytes) -> None:
        """Append received bytes (any chunking)."""
        size = len(data)
        if len(self._buf) - self._end < size:
            self._make_room(size)
        end = self._end
        self._view[end : end + size] = data
        self._end = end + size

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Room at the end of the buffer to receive into (at least 64 KiB)."""
        if len(self._buf) - self._end < _MIN_FREE:
            self._make_room(_MIN_FREE)
        return self._view[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were received into the view ``get_buffer`` returned."""
        self._end += nbytes

    @property
    def unread(self) -> int:
        """Bytes in the buffer that no event has consumed yet."""
        return self._end - self._pos

    def take_unread(self) -> bytes:
        """Remove and return the unread bytes (when the stream changes encoding)."""
        data = self._view[self._pos : self._end].tobytes()
        self._pos = self._scan = self._end
        return data

    def _make_room(self, size: int) -> None:
        """Make ``size`` bytes free after the data: compact, or reallocate to grow or shrink.

        The buffer is kept at least twice what the unread bytes need, so a
        compaction moves no more bytes than it frees.
        """
        pos, end = self._pos, self._end
        unread = end - pos
        target = self._initial_size
        while target < 2 * (unread + size):
            target *= 2
        capacity = len(self._buf)
        if target > capacity or target * 4 <= capacity:
            buf = bytearray(target)
            buf[:unread] = self._view[pos:end]
            self._buf, self._view = buf, memoryview(buf)
        else:
            self._view[:unread] = self._view[pos:end]
        self._pos, self._end = 0, unread
        self._scan = max(0, self._scan - pos)
