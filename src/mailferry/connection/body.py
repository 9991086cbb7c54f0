"""Message bodies that live in memory when small and in a temp file when large.

A FETCH hands small bodies out whole (``MessageBody(data)``) and large
literals in chunks; ``BodyWriter`` collects those and turns into a
``MessageBody`` once complete. Large bodies are memory-mapped
when sent on, so a 40 MB message never needs 40 MB of heap.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


class MessageBody:
    """The bytes of one message (or body section), in memory or spooled."""

    __slots__ = ("_data", "_file", "_map", "size")

    def __init__(self, data: bytes | None = None, file: BinaryIO | None = None, size: int = 0):
        self._data = data
        self._file = file
        self._map: mmap.mmap | None = None
        self.size = len(data) if data is not None else size

    @classmethod
    def from_bytes(cls, data: bytes) -> MessageBody:
        return cls(data=data)

    @property
    def spooled(self) -> bool:
        """True when the bytes are in a temp file rather than in memory."""
        return self._file is not None

    def read(self) -> bytes:
        """All bytes (reads a spooled body into memory: avoid for large ones)."""
        if self._data is not None:
            return self._data
        return bytes(self.view())

    def view(self) -> memoryview:
        """A zero-copy view of the bytes (memory-mapped when spooled)."""
        if self._data is not None:
            return memoryview(self._data)
        if self.size == 0:
            return memoryview(b"")
        if self._map is None:
            assert self._file is not None
            self._map = mmap.mmap(self._file.fileno(), self.size, access=mmap.ACCESS_READ)
        return memoryview(self._map)

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The bytes in pieces of at most ``size``."""
        view = self.view()
        for start in range(0, self.size, size):
            yield bytes(view[start : start + size])

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def close(self) -> None:
        """Release the temp file, if any. Views obtained earlier become invalid."""
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a view is still held: GC finishes it
                self._map.close()
            self._map = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> MessageBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "spooled" if self.spooled else "memory"
        return f"<MessageBody {self.size} bytes in {where}>"


class BodyWriter:
    """Collects literal chunks; spills to an anonymous temp file above a threshold."""

    def __init__(self, expected_size: int, threshold: int) -> None:
        self._expected = expected_size
        self._file: BinaryIO | None = None
        self._buffer: io.BytesIO | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        if expected_size > threshold:
            self._file = tempfile.TemporaryFile(prefix="mailferry-body-")  # noqa: SIM115

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._file is not None:
            self._file.write(data)
        else:
            self._chunks.append(data)

    def finish(self) -> MessageBody:
        if self._file is None:
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._chunks = []
            return MessageBody(data=bytes(data))
        self._file.flush()
        return MessageBody(file=self._file, size=self._size)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        self._chunks = []
