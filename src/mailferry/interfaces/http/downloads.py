"""A report written by a synchronous writer, streamed as the response body.

The façade writes a report to a text sink as it reads the database (50,000 users are
never held in memory). Here the writer runs in a worker thread and its text goes to the
client through a small bounded queue, in chunks of about ``CHUNK`` characters: the
thread waits while the client is slow, and stops (``ClientGone``) when it went away.
The response starts only once the writer produced its first chunk or finished, so an
error before any output (no such batch) is still an ordinary error response.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

CHUNK = 64 * 1024
QUEUE_CHUNKS = 8
_DONE = object()
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

Writer = Callable[["QueueSink"], None]


class ClientGone(Exception):
    """The client closed the connection: the writer stops."""


class QueueSink:
    """A ``TextSink`` that hands chunks to the event loop through a bounded queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_CHUNKS)
        self.closed = threading.Event()
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str, /) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            chunk, self._parts, self._size = "".join(self._parts), [], 0
            self.put(chunk.encode("utf-8"))

    def put(self, item: object) -> None:
        """From the writer's thread: wait for room, unless the client went away."""
        while True:
            if self.closed.is_set():
                raise ClientGone
            future = asyncio.run_coroutine_threadsafe(self.queue.put(item), self._loop)
            try:
                future.result(timeout=1.0)
                return
            except TimeoutError:
                future.cancel()


def attachment(filename: str) -> str:
    """A Content-Disposition value that is safe for any batch name."""
    plain = _UNSAFE.sub("_", filename).strip("._") or "report"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def streamed(writer: Writer, media_type: str, filename: str) -> StreamingResponse:
    """Run ``writer`` in a thread; its first chunk (or its error) before the response."""
    sink = QueueSink(asyncio.get_running_loop())

    def run() -> None:
        try:
            writer(sink)
            sink.flush()
        except ClientGone:
            return
        except BaseException as error:
            sink.put(error)
            return
        sink.put(_DONE)

    task = asyncio.ensure_future(run_in_threadpool(run))
    first = await sink.queue.get()
    if isinstance(first, BaseException):
        await task
        raise first
    headers = {"Content-Disposition": attachment(filename)}
    return StreamingResponse(_body(sink, first, task), media_type=media_type, headers=headers)


async def _body(sink: QueueSink, first: object, task: asyncio.Future[None]) -> AsyncIterator[bytes]:
    item = first
    try:
        while item is not _DONE:
            if isinstance(item, BaseException):
                raise item  # the stream ends short: the client sees a truncated body
            assert isinstance(item, bytes)
            yield item
            item = await sink.queue.get()
    finally:
        sink.closed.set()
        while not sink.queue.empty():
            sink.queue.get_nowait()
        await task
