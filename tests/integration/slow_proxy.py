"""A loopback TCP proxy, run in threads, that can slow the client-to-server direction.

With ``rate`` set, an APPEND of a big message crawls to the server, so a test can
see it in flight (``upstream_bytes`` counts what was forwarded) and kill the client
mid-literal. With ``held`` set, nothing more goes to the server until it is cleared:
bytes the client sent wait in the proxy, as they would in a network buffer or a
middlebox, and reach the server after the client has given up. Every blocking call
has a timeout; ``close`` ends all threads.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType

CHUNK = 64 * 1024
POLL = 0.2  # seconds a wait for data lasts before checking for close()
SEND_TIMEOUT = 30.0


class SlowProxy:
    """Forwards ``127.0.0.1:self.port`` to ``host:port``."""

    def __init__(self, host: str, port: int, *, rate: float | None = None) -> None:
        self.upstream = (host, port)
        self.rate = rate  # bytes per second client -> server, None: unlimited
        self.upstream_bytes = 0
        self.held = False  # True: client -> server bytes wait in the proxy
        self.connections = 0  # client connections whose pumps still run
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL)
        self.port: int = self._listener.getsockname()[1]

    def __enter__(self) -> SlowProxy:
        self._spawn(self._accept)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            sockets = [self._listener, *self._sockets]
        for sock in sockets:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        assert not any(t.is_alive() for t in self._threads), "proxy threads left running"

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.settimeout(SEND_TIMEOUT)
            with self._lock:
                self._sockets += [client, server]
                self.connections += 1
            self._spawn(self._pump, client, server, True)
            self._spawn(self._pump, server, client, False)

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while not self._closed.is_set():
                readable, _, _ = select.select([src], [], [], POLL)
                if not readable:
                    continue
                data = src.recv(CHUNK)
                if not data:
                    break
                if upstream:
                    self._wait_while_held()
                    self._throttle(len(data))
                dst.sendall(data)
                if upstream:
                    with self._lock:
                        self.upstream_bytes += len(data)
        except (OSError, ValueError):  # ValueError: select() on a socket close() closed
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if upstream:
                with self._lock:
                    self.connections -= 1

    def _wait_while_held(self) -> None:
        while self.held and not self._closed.is_set():
            time.sleep(0.02)

    def _throttle(self, size: int) -> None:
        rate = self.rate
        if rate is not None:
            time.sleep(size / rate)
