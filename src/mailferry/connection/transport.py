"""The byte pipe under an IMAP session: DNS, TCP, TLS, STARTTLS upgrade, DEFLATE.

This is the only module that opens sockets. Every failure is translated
once, here, into the typed errors of ``mailferry.errors``; each connection
step can be reported with its duration (``test-server`` shows them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mailferry.connection.options import ConnectOptions, Security
from mailferry.errors import ConnectFailed, ConnectionLost, ConnectTimeout, TlsError

#: Called as ``on_step(name, seconds, detail)`` after each connection step.
StepCallback = Callable[[str, float, str], None]

_WRITE_SLICE = 256 * 1024


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
    """A connected stream with optional TLS and DEFLATE layers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._inflate: zlib._Decompress | None = None
        self._deflate: zlib._Compress | None = None
        self.tls: TlsInfo | None = None

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at end of stream."""
        try:
            data = await self._reader.read(size)
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            raise ConnectionLost(f"connection lost while reading: {exc}") from exc
        if self._inflate is not None and data:
            return self._inflate.decompress(data)
        return data

    async def write(self, parts: Iterable[bytes | memoryview]) -> None:
        """Write all parts, in slices, waiting for the socket to drain."""
        try:
            for part in parts:
                await self._write_one(part)
            if self._deflate is not None:
                self._writer.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
            await self._writer.drain()
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            raise ConnectionLost(f"connection lost while writing: {exc}") from exc

    async def _write_one(self, part: bytes | memoryview) -> None:
        view = memoryview(part)
        for start in range(0, len(view), _WRITE_SLICE):
            piece = view[start : start + _WRITE_SLICE]
            if self._deflate is not None:
                self._writer.write(self._deflate.compress(piece))
            else:
                self._writer.write(piece)
            if self._writer.transport.get_write_buffer_size() > 4 * _WRITE_SLICE:
                await self._writer.drain()

    async def start_tls(self, options: ConnectOptions, on_step: StepCallback | None) -> None:
        """Upgrade this plain connection to TLS (STARTTLS)."""
        started = time.monotonic()
        context = options.ssl_context()
        try:
            await asyncio.wait_for(
                self._writer.start_tls(context, server_hostname=options.host),
                options.connect_timeout,
            )
        except TimeoutError as exc:
            raise ConnectTimeout("TLS handshake", options.connect_timeout) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TlsError(describe_verification_error(exc)) from exc
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            raise TlsError(str(exc) or type(exc).__name__) from exc
        self.tls = tls_info(self._writer, verified=not options.accept_untrusted_certificates)
        if on_step:
            on_step("tls", time.monotonic() - started, describe_tls(self.tls))

    def enable_compression(self) -> None:
        """Switch both directions to raw DEFLATE (RFC 4978)."""
        self._inflate = zlib.decompressobj(-15)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)

    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    def abort(self) -> None:
        """Drop the connection at once."""
        transport = self._writer.transport
        if transport is not None:
            transport.abort()

    async def close(self) -> None:
        self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), 5)
        except (TimeoutError, ConnectionError, OSError, ssl.SSLError):
            self.abort()


async def open_transport(options: ConnectOptions, on_step: StepCallback | None = None) -> Transport:
    """DNS, TCP connect and (for ``Security.SSL``) the TLS handshake, each timed."""
    addresses = await _resolve(options, on_step)
    sock = await _connect_any(addresses, options, on_step)
    if options.security is Security.SSL:
        return await _wrap_tls(sock, options, on_step)
    reader, writer = await asyncio.open_connection(sock=sock, limit=options.read_chunk * 4)
    return Transport(reader, writer)


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
    sock: socket.socket, options: ConnectOptions, on_step: StepCallback | None
) -> Transport:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(
            sock=sock,
            ssl=options.ssl_context(),
            server_hostname=options.host,
            ssl_handshake_timeout=options.connect_timeout,
            limit=options.read_chunk * 4,
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
    transport = Transport(reader, writer)
    transport.tls = tls_info(writer, verified=not options.accept_untrusted_certificates)
    if on_step:
        on_step("tls", time.monotonic() - started, describe_tls(transport.tls))
    return transport


def describe_verification_error(exc: ssl.SSLCertVerificationError) -> str:
    """The exact reason a certificate was refused, e.g. 'self-signed certificate'."""
    message = exc.verify_message or exc.reason or str(exc)
    return f"certificate verify failed: {message}"


def tls_info(writer: asyncio.StreamWriter, verified: bool) -> TlsInfo:
    """Protocol, cipher and certificate facts of an established TLS connection."""
    ssl_object: ssl.SSLObject | None = writer.get_extra_info("ssl_object")
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
