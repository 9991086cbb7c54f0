"""Tiny real DNS servers on 127.0.0.1 for tests (dnspython does the wire format).

``LoopbackDnsServer(zone_text)`` answers authoritatively from a zone file text over UDP
and TCP on one free port (answers too big for UDP are truncated, so the client retries
over TCP); names listed in ``servfail`` get SERVFAIL, names outside the zone REFUSED.
``SilentDnsServer()`` reads UDP queries and never answers. Both run in a thread, serve
until ``stop()`` (or the ``with`` block ends) and record what they received in ``queries``.
"""

from __future__ import annotations

import selectors
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

HOST = "127.0.0.1"
UDP_LIMIT = 512  # without EDNS (dnspython's resolver sends none by default)
TCP_IDLE_SECONDS = 2.0
TCP_MESSAGES_PER_CONNECTION = 16
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Query:
    transport: str  # "udp" or "tcp"
    name: str  # as asked, without the final dot
    rdtype: str


class _ThreadedServer(ABC):
    """Start/stop plumbing: a thread polling sockets until stopped."""

    def __init__(self) -> None:
        self.queries: list[Query] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []
        self.port = 0

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> None:
        assert self._thread is None, "already started"
        self._sockets = self._bind()
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "DNS test server thread did not stop"
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @abstractmethod
    def _bind(self) -> list[socket.socket]:
        """Open the listening sockets on 127.0.0.1."""

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in self._sockets:
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(POLL_SECONDS):
                    self._ready(key.fileobj)  # type: ignore[arg-type]

    @abstractmethod
    def _ready(self, sock: socket.socket) -> None:
        """Handle a socket that has something to read."""


class LoopbackDnsServer(_ThreadedServer):
    """Authoritative for ``origin`` (default: the root, so any name not in the zone is NXDOMAIN)."""

    def __init__(
        self, zone_text: str, *, origin: str = ".", port: int = 0, servfail: Iterable[str] = ()
    ) -> None:
        super().__init__()
        self.zone = dns.zone.from_text(zone_text, origin=origin, relativize=False)
        assert self.zone.origin is not None
        self.origin: dns.name.Name = self.zone.origin
        self.servfail = {dns.name.from_text(name) for name in servfail}
        self._wanted_port = port

    def _bind(self) -> list[socket.socket]:
        for _ in range(20):  # bounded: a free UDP port whose TCP twin is free too
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                udp.bind((HOST, self._wanted_port))
                self.port = udp.getsockname()[1]
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((HOST, self.port))
                tcp.listen(8)
            except OSError:
                udp.close()
                tcp.close()
                if self._wanted_port:
                    raise
                continue
            return [udp, tcp]
        raise OSError("no free port for both UDP and TCP")

    def _ready(self, sock: socket.socket) -> None:
        if sock.type == socket.SOCK_DGRAM:
            wire, peer = sock.recvfrom(65535)
            reply = self._reply(wire, "udp")
            if reply is not None:
                sock.sendto(reply, peer)
            return
        connection, _ = sock.accept()
        with connection:
            self._serve_tcp(connection)

    def _serve_tcp(self, connection: socket.socket) -> None:
        connection.settimeout(TCP_IDLE_SECONDS)
        for _ in range(TCP_MESSAGES_PER_CONNECTION):
            try:
                length = _read_exactly(connection, 2)
                wire = _read_exactly(connection, int.from_bytes(length, "big"))
            except (OSError, EOFError):
                return
            reply = self._reply(wire, "tcp")
            if reply is None:
                return
            connection.sendall(len(reply).to_bytes(2, "big") + reply)

    def _reply(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if len(query.question) != 1:
            return None
        question = query.question[0]
        self.queries.append(
            Query(transport, question.name.to_text(omit_final_dot=True), question.rdtype.name)
        )
        response = dns.message.make_response(query)
        self._answer(response, question.name, question.rdtype)
        limit = max(UDP_LIMIT, query.payload) if query.edns >= 0 else UDP_LIMIT
        try:
            return response.to_wire(max_size=limit if transport == "udp" else 65535)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC
            return truncated.to_wire()

    def _answer(
        self, response: dns.message.Message, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> None:
        if qname in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return
        if not qname.is_subdomain(self.origin):
            response.set_rcode(dns.rcode.REFUSED)
            return
        response.flags |= dns.flags.AA
        node = self.zone.get_node(qname)
        rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype) if node is not None else None
        if rdataset is not None:
            response.answer.append(_rrset(qname, rdataset))
            return
        if node is None and not any(name.is_subdomain(qname) for name in self.zone.nodes):
            response.set_rcode(dns.rcode.NXDOMAIN)
        soa = self.zone.get_rdataset(self.origin, dns.rdatatype.SOA)
        if soa is not None:  # the negative answer's SOA, as real servers send
            response.authority.append(_rrset(self.origin, soa))


class SilentDnsServer(_ThreadedServer):
    """A UDP socket that receives queries and drops them: a nameserver that never answers."""

    def _bind(self) -> list[socket.socket]:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((HOST, 0))
        self.port = udp.getsockname()[1]
        return [udp]

    def _ready(self, sock: socket.socket) -> None:
        wire, _ = sock.recvfrom(65535)
        try:
            question = dns.message.from_wire(wire).question[0]
        except (dns.exception.DNSException, IndexError):
            return
        self.queries.append(
            Query("udp", question.name.to_text(omit_final_dot=True), question.rdtype.name)
        )


def _rrset(name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))


def _read_exactly(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data
