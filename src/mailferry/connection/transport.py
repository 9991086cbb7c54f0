"""The byte pipe under an IMAP session: DNS, TCP, TLS, STARTTLS upgrade, DEFLATE.

This is the only module that opens sockets. Every failure is translated
once, here, into the typed errors of ``mailferry.errors``; each connection
step can be reported with its duration (``test-server`` shows them).
Received bytes go straight into a ``ReceiveTarget`` (the response parser)
through ``mailferry.connection.receiver.Receiver``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import mmap
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from mailferry.connection.options import ConnectOptions
from mailferry.connection.receiver import Receiver, ReceiveTarget
from mailferry.errors import ConnectFailed, ConnectionLost, ConnectTimeout, TlsError
from mailferry.values.connection import Security

#: Called as ``on_step(name, seconds, detail)`` after each connection step.
StepCallback = Callable[[str, float, str], None]

_WRITE_SLICE = 256 * 1024
_COALESCE = 64 * 1024
_DONTNEED: int | None = getattr(mmap, "MADV_DONTNEED", None)


def _whole_mapping(view: memoryview) -> mmap.mmap | None:
    """The memory map ``view`` shows from its first byte to its last, if it is one
    (a spooled message body on its way out)."""
    mapped = view.obj
    if isinstance(mapped, mmap.mmap) and view.nbytes == len(mapped) and _DONTNEED is not None:
        return mapped
    return None


def _forget_pages(mapped: mmap.mmap, start: int, end: int) -> None:
    """Drop the pages of ``mapped`` between ``start`` and ``end`` from our resident set
    once they are written: a 40 MB message then never holds 40 MB of RSS. The bytes
    stay in the file (and the page cache); touching them again reads them back."""
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    last = end if end >= len(mapped) else end - end % mmap.PAGESIZE
    if last > first:
        with contextlib.suppress(OSError, ValueError):
            mapped.madvise(_DONTNEED, first, last - first)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TlsInfo:
    """What the TLS handshake established (shown by ``test-server``)."""

    protocol: str
    cipher: str
    subject: str
    issuer: str
    not_after: dt.datetime | None
    verified: bool


class Transport:
    """A connected stream with optional TLS and DEFLATE layers.

    Received bytes go straight into the target given to ``open_transport``.
    """

    def __init__(self, transport: asyncio.Transport, receiver: Receiver) -> None:
        self._transport = transport
        self._receiver = receiver
        self._deflate: zlib._Compress | None = None
        self.tls: TlsInfo | None = None

    async def receive(self) -> bool:
        """Wait until new bytes are in the target; False at the end of the stream."""
        return await self._receiver.receive()

    async def write(self, parts: Iterable[bytes | memoryview]) -> None:
        """Write all parts, in slices, waiting for the socket to drain.

        Parts smaller than ``_COALESCE`` are gathered into one buffer of up to
        ``_WRITE_SLICE`` bytes first: a MULTIAPPEND of 50 small messages is then a few
        socket sends instead of 100 (copying a small part costs less than a send).
        """
        try:
            gathered = bytearray()
            for part in parts:
                small = len(part) < _COALESCE
                if small and (not isinstance(part, memoryview) or part.itemsize == 1):
                    gathered += part
                    if len(gathered) >= _WRITE_SLICE:
                        await self._write_one(gathered)
                        gathered = bytearray()
                    continue
                if gathered:
                    await self._write_one(gathered)
                    gathered = bytearray()
                await self._write_one(part)
            if gathered:
                await self._write_one(gathered)
            if self._deflate is not None:
                self._transport.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
            await self._receiver.drain()
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            raise ConnectionLost(f"connection lost while writing: {exc}") from exc

    async def _write_one(self, part: bytes | bytearray | memoryview) -> None:
        view = memoryview(part)
        mapped = _whole_mapping(view)
        for start in range(0, len(view), _WRITE_SLICE):
            piece = view[start : start + _WRITE_SLICE]
            if self._deflate is not None:
                self._transport.write(self._deflate.compress(piece))
            else:
                self._transport.write(piece)
            if mapped is not None:
                _forget_pages(mapped, start, start + len(piece))
            await self._receiver.drain()

    async def start_tls(self, options: ConnectOptions, on_step: StepCallback | None) -> None:
        """Upgrade this plain connection to TLS (STARTTLS).

        Reading stops at once: no byte that follows the server's OK in clear
        text may reach the parser.
        """
        started = time.monotonic()
        self._transport.pause_reading()
        context = options.ssl_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(options.connect_timeout):
                upgraded = await loop.start_tls(
                    self._transport, self._receiver, context, server_hostname=options.host
                )
        except TimeoutError as exc:
            raise ConnectTimeout("TLS handshake", options.connect_timeout) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TlsError(describe_verification_error(exc)) from exc
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            raise TlsError(str(exc) or type(exc).__name__) from exc
        if upgraded is None:
            raise TlsError("the connection closed during the TLS handshake")
        self._transport = upgraded
        self._receiver.switched(upgraded)
        self.tls = tls_info(upgraded, verified=not options.accept_untrusted_certificates)
        if on_step:
            on_step("tls", time.monotonic() - started, describe_tls(self.tls))

    def enable_compression(self, leftover: bytes = b"") -> None:
        """Switch both directions to raw DEFLATE (RFC 4978).

        ``leftover``: bytes already received after the switch point (compressed).
        """
        self._receiver.start_inflating(leftover)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)

    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    @property
    def reading_paused(self) -> bool:
        """True while backpressure holds the socket unread (the parser is full)."""
        return self._receiver.paused

    def abort(self) -> None:
        """Drop the connection at once."""
        self._transport.abort()

    async def close(self) -> None:
        self._transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._receiver.closed), 5)
        except TimeoutError:
            self.abort()


async def open_transport(
    options: ConnectOptions, target: ReceiveTarget, on_step: StepCallback | None = None
) -> Transport:
    """DNS, TCP connect and (for ``Security.SSL``) the TLS handshake, each timed.

    Every byte received goes into ``target``.
    """
    addresses = await _resolve(options, on_step)
    sock = await _connect_any(addresses, options, on_step)
    receiver = Receiver(target, high_water=2 * options.read_chunk)
    if options.security is Security.SSL:
        return await _wrap_tls(sock, receiver, options, on_step)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(lambda: receiver, sock=sock)
    return Transport(transport, receiver)


async def _resolve(options: ConnectOptions, on_step: StepCallback | None) -> list[tuple[int, str]]:
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(options.host, options.port, type=socket.SOCK_STREAM),
            options.connect_timeout,
        )
    except TimeoutError as exc:
        raise ConnectTimeout("DNS lookup", options.connect_timeout) from exc
    except socket.gaierror as exc:
        reason = "name not found" if exc.errno in _NOT_FOUND else str(exc.strerror)
        raise ConnectFailed("dns", options.host, options.port, reason) from exc
    except UnicodeError as exc:  # a label the resolver's IDNA codec can't encode
        raise ConnectFailed("dns", options.host, options.port, "not a valid host name") from exc
    addresses: list[tuple[int, str]] = [
        (int(family), str(sockaddr[0])) for family, _, _, _, sockaddr in infos
    ]
    if on_step:
        on_step("dns", time.monotonic() - started, ", ".join(a for _, a in addresses))
    return addresses


_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


async def _connect_any(
    addresses: list[tuple[int, str]], options: ConnectOptions, on_step: StepCallback | None
) -> socket.socket:
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    deadline = started + options.connect_timeout
    last_error: ConnectFailed | None = None
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            remaining = max(0.001, deadline - time.monotonic())
            await asyncio.wait_for(loop.sock_connect(sock, (address, options.port)), remaining)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeout("TCP connect", options.connect_timeout) from exc
        except OSError as exc:
            sock.close()
            reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc)
            last_error = ConnectFailed("tcp", options.host, options.port, reason)
            continue
        if on_step:
            on_step("tcp", time.monotonic() - started, f"{address}:{options.port}")
        return sock
    assert last_error is not None
    raise last_error


async def _wrap_tls(
    sock: socket.socket, receiver: Receiver, options: ConnectOptions, on_step: StepCallback | None
) -> Transport:
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        raw, _ = await loop.create_connection(
            lambda: receiver,
            sock=sock,
            ssl=options.ssl_context(),
            server_hostname=options.host,
            ssl_handshake_timeout=options.connect_timeout,
        )
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise TlsError(describe_verification_error(exc)) from exc
    except TimeoutError as exc:
        sock.close()
        raise ConnectTimeout("TLS handshake", options.connect_timeout) from exc
    except (ssl.SSLError, ConnectionError, OSError) as exc:
        sock.close()
        raise TlsError(str(exc) or type(exc).__name__) from exc
    transport = Transport(raw, receiver)
    transport.tls = tls_info(raw, verified=not options.accept_untrusted_certificates)
    if on_step:
        on_step("tls", time.monotonic() - started, describe_tls(transport.tls))
    return transport


def describe_verification_error(exc: ssl.SSLCertVerificationError) -> str:
    """The exact reason a certificate was refused, e.g. 'self-signed certificate'."""
    message = exc.verify_message or exc.reason or str(exc)
    return f"certificate verify failed: {message}"


def tls_info(transport: asyncio.BaseTransport, verified: bool) -> TlsInfo:
    """Protocol, cipher and certificate facts of an established TLS connection."""
    ssl_object = cast(ssl.SSLObject | None, transport.get_extra_info("ssl_object"))
    if ssl_object is None:
        return TlsInfo("", "", "", "", None, verified)
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    subject, issuer, not_after = _certificate_facts(der)
    return TlsInfo(
        protocol=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        subject=subject,
        issuer=issuer,
        not_after=not_after,
        verified=verified,
    )


def _certificate_facts(der: bytes | None) -> tuple[str, str, dt.datetime | None]:
    if not der:
        return "", "", None
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.not_valid_after_utc


def describe_tls(info: TlsInfo) -> str:
    expiry = info.not_after.date().isoformat() if info.not_after else "?"
    trust = "verified" if info.verified else "NOT verified (accepted untrusted)"
    return f"{info.protocol} {info.cipher}; subject {info.subject}; issuer {info.issuer}; " + (
        f"expires {expiry}; {trust}"
    )
