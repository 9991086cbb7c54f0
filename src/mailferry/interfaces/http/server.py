"""Hosting the API: uvicorn, run programmatically in the running event loop.

``listen_address`` turns ``--http HOST:PORT`` and the TLS options into a ``Listen``,
refusing what would expose the API by accident:

- loopback (``127.0.0.1``, ``::1``, ``localhost``) is always allowed;
- any other address (``0.0.0.0``, ``::``, a LAN or public address) only with
  ``allow_remote`` (``--allow-remote``);
- and a non-loopback address only with TLS (``--tls-cert``/``--tls-key``), unless
  ``allow_plain_http`` (``--allow-plain-http``) says a TLS proxy in front takes care of
  it: bearer tokens in clear over a network could be read by anyone on the path.

``HttpServer`` binds its socket when made (so a port in use, or a bad certificate, is
an error before anything else starts; port 0 picks a free port, see ``url``) and
serves until ``stop()``. uvicorn's own signal capture is switched off: the command owns
SIGINT/SIGTERM and stops the scheduler and the server together (``run_together``).
``X-Forwarded-*`` headers are not trusted (the client address is the TCP peer's: the
rate limit of failed token attempts counts per address).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import ssl
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from mailferry.errors import InvalidSetting

BACKLOG = 2048  # uvicorn's default
GRACEFUL_SECONDS = 5.0
"""How long open requests (an event stream) may take to finish once the server stops."""


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port if port is None else port}"


def listen_address(
    text: str,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    allow_remote: bool = False,
    allow_plain_http: bool = False,
) -> Listen:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) checked against the rules above."""
    host, port = _host_port(text)
    if (tls_cert is None) != (tls_key is None):
        raise InvalidSetting(["--tls-cert and --tls-key: give both or neither"])
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise InvalidSetting([f"{option} {str(path)!r} is not a file"])
    address = ipaddress.ip_address(host)
    if not address.is_loopback:
        if not allow_remote:
            raise InvalidSetting(
                [
                    f"--http {text}: {host} is reachable from other machines; the API listens "
                    "on loopback (127.0.0.1, ::1) unless --allow-remote is given"
                ]
            )
        if tls_cert is None and not allow_plain_http:
            raise InvalidSetting(
                [
                    f"--http {text}: a non-loopback address needs TLS (--tls-cert and "
                    "--tls-key), or --allow-plain-http when a TLS proxy is in front"
                ]
            )
    return Listen(host, port, tls_cert, tls_key)


def _host_port(text: str) -> tuple[str, int]:
    where = f"--http {text!r}"
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
        if ":" in host:
            raise InvalidSetting([f"{where}: write an IPv6 address in brackets, [::1]:8080"])
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise InvalidSetting([f"{where}: expected HOST:PORT, e.g. 127.0.0.1:8080"])
    if host.lower() == "localhost":
        host = "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidSetting([f"{where}: {host!r} is not an IP address (or localhost)"]) from None
    return host, int(port_text)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the command handles SIGINT/SIGTERM (run_together)


class _EndStreamsOnStop:
    """ASGI middleware: once the server stops, a request that has read its whole body
    and waits on ``receive`` (what a streaming response does to notice the client going,
    e.g. the event stream) is told the client disconnected, so the stream ends at once
    instead of holding the shutdown for GRACEFUL_SECONDS (its response is then ended
    with an empty last chunk). A request still reading its body is left alone: it gets
    the grace period."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.stopping = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False

        async def guarded() -> Any:
            nonlocal body_done
            if not body_done:
                message = await receive()
                body_done = message["type"] != "http.request" or not message.get("more_body")
                return message
            return await _first(receive(), self.stopping.wait())

        started = ended = False

        async def watched(message: Any) -> None:
            nonlocal started, ended
            last = message["type"] == "http.response.body" and not message.get("more_body")
            started, ended = started or message["type"] == "http.response.start", ended or last
            await send(message)

        await self.app(scope, guarded, watched)
        if self.stopping.is_set() and started and not ended:  # a stream we ended: end it well
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _first(receive: Coroutine[Any, Any, Any], stop: Coroutine[Any, Any, Any]) -> Any:
    """``receive``'s message, or a disconnect if ``stop`` comes first."""
    received, stopped = asyncio.ensure_future(receive), asyncio.ensure_future(stop)
    try:
        await asyncio.wait({received, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (received, stopped):
            if not task.done():
                task.cancel()
    return received.result() if received.done() and not received.cancelled() else _DISCONNECT


_DISCONNECT = {"type": "http.disconnect"}


class HttpServer:
    """uvicorn serving ``asgi_app`` on ``listen``; the socket is bound when made."""

    def __init__(self, asgi_app: Any, listen: Listen, *, access_log: bool = True) -> None:
        self.listen = listen
        self._app = _EndStreamsOnStop(asgi_app)
        self._config = uvicorn.Config(
            self._app,
            host=listen.host,
            port=listen.port,
            ssl_certfile=str(listen.tls_cert) if listen.tls_cert else None,
            ssl_keyfile=str(listen.tls_key) if listen.tls_key else None,
            proxy_headers=False,
            server_header=False,
            access_log=access_log,
            timeout_graceful_shutdown=int(GRACEFUL_SECONDS),
            lifespan="auto",
            backlog=BACKLOG,
        )
        try:
            self._config.load()
        except (OSError, ssl.SSLError) as exc:
            raise InvalidSetting([f"--tls-cert/--tls-key: cannot use them: {exc}"]) from None
        self._socket = _bind(listen)
        self._port: int = self._socket.getsockname()[1]
        self._server = _Server(self._config)

    @property
    def port(self) -> int:
        """The port listened on (the one picked for port 0)."""
        return self._port

    @property
    def url(self) -> str:
        return self.listen.url(self.port)

    async def serve(self) -> None:
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            self._socket.close()

    def stop(self, *, force: bool = False) -> None:
        """Stop accepting, let open requests finish (up to GRACEFUL_SECONDS, none with
        ``force``), return."""
        self._server.should_exit = True
        self._server.force_exit = self._server.force_exit or force
        self._app.stopping.set()

    def close(self) -> None:
        """Release the socket of a server that was never served."""
        self._socket.close()


def _bind(listen: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit it: without, asyncio's loop (unlike uvloop) leaves
        # Nagle on, and a response's two writes wait ~40 ms for the client's delayed ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((listen.host, listen.port))
        sock.listen(BACKLOG)  # the port is ours from now on (SO_REUSEADDR alone allows two)
    except OSError as exc:
        sock.close()
        address = listen.url().split("://", 1)[1]
        raise InvalidSetting([f"--http {address}: cannot listen: {exc.strerror or exc}"]) from None
    sock.set_inheritable(False)
    return sock


async def run_together(
    server: HttpServer | None,
    work: Coroutine[Any, Any, None] | None,
    *,
    on_signal: Callable[[], None] | None = None,
) -> None:
    """Serve ``server`` and run ``work`` (the scheduler) in this loop until SIGINT or
    SIGTERM (``on_signal`` is told first), then stop both: the server gracefully (open
    requests get GRACEFUL_SECONDS), ``work`` by cancellation (it saves where it was). If
    either ends first (an error), the other is stopped too and the error is raised."""
    serving = asyncio.ensure_future(server.serve()) if server is not None else None
    working = asyncio.ensure_future(work) if work is not None else None
    tasks = [task for task in (serving, working) if task is not None]
    if not tasks:
        return

    signalled_before = False

    def stop_all(force: bool = False) -> None:
        if server is not None:
            server.stop(force=force)
        if working is not None:
            working.cancel()

    def signalled() -> None:  # a second signal: stop without waiting for open requests
        nonlocal signalled_before
        if on_signal is not None and not signalled_before:
            on_signal()
        stop_all(force=signalled_before)
        signalled_before = True

    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, signalled)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop_all()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    except BaseException:  # we were cancelled ourselves: take both down
        for task in tasks:
            task.cancel()
        raise
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result
