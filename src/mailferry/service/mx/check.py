"""Does a domain's MX point at the migration target yet? (SPEC §1 step 8, the cut-over.)

The rule: ``points_to_target`` is True when every MX host of the *lowest* preference
matches an expected host (see :mod:`mailferry.service.mx.names` for matching). Senders
try the lowest preference first, so that is where new mail goes; backups of a higher
preference that still point elsewhere don't make it False, but the detail names them.
With no expected host it is False and the detail says so.

A domain with no MX records but an address (A/AAAA) gets mail at that address (RFC 5321
§5.1, implicit MX): the result then has the one record ``0 <domain>`` and
``implicit_mx``. A null MX (RFC 7505, ``0 .``) means the domain accepts no mail; its
exchange is shown as ``"."``. Names are compared in their ASCII (IDNA) form; exchanges
are shown as DNS holds them, lowercased, without the trailing dot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import dns.exception
import dns.inet
import dns.name
import dns.nameserver
import dns.rdtypes.ANY.MX
import dns.resolver
import dns.rrset
from dns.asyncresolver import Resolver

from mailferry.errors import MxCheckError, MxFailure
from mailferry.service.mx.names import (
    DomainName,
    domains_of,
    matches_any,
    parse_domain,
    parse_expected,
)

__all__ = [
    "MxCheckError",
    "MxCheckResult",
    "MxFailure",
    "MxRecord",
    "check_mx",
    "domains_of",
]

NULL_MX = "."


@dataclass(frozen=True)
class MxRecord:
    """One MX record: ``exchange`` lowercased, without the trailing dot (``"."``: null MX)."""

    preference: int
    exchange: str


@dataclass(frozen=True)
class MxCheckResult:
    """What the domain's MX says, and whether it points at the target (see module doc)."""

    domain: str
    records: tuple[MxRecord, ...]
    expected: tuple[str, ...]
    points_to_target: bool
    checked_at: datetime
    detail: str
    implicit_mx: bool = False

    def is_target(self, record: MxRecord) -> bool:
        return matches_any(record.exchange, self.expected)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def check_mx(
    domain: str,
    expected: Sequence[str],
    *,
    nameservers: Sequence[str] | None = None,
    port: int = 53,
    timeout: float = 5.0,
    now: Callable[[], datetime] = _utc_now,
) -> MxCheckResult:
    """Resolve ``domain``'s MX and compare it with ``expected`` hosts.

    ``nameservers`` are IP addresses asked on ``port``; None uses the system's resolver
    configuration (/etc/resolv.conf). ``timeout`` bounds the whole check, including the
    A/AAAA fallback. Raises MxCheckError (``failure`` says why) when there is no answer.
    """
    name = parse_domain(domain)
    targets = parse_expected([expected] if isinstance(expected, str) else expected)
    lookup = _Lookup(name, _resolver(domain, nameservers, port, timeout), timeout)
    records, implicit = await lookup.mail_hosts()
    points, detail = _judge(name.text, records, targets, implicit=implicit)
    return MxCheckResult(name.text, records, targets, points, now(), detail, implicit)


def _resolver(
    domain: str, nameservers: Sequence[str] | None, port: int, timeout: float
) -> Resolver:
    if nameservers is None:
        try:
            resolver = Resolver(configure=True)
        except dns.resolver.NoResolverConfiguration:
            raise MxCheckError(
                MxFailure.NO_NAMESERVERS,
                domain,
                "no nameserver is configured in /etc/resolv.conf; name one to ask",
            ) from None
        addresses = [str(n) for n in resolver.nameservers]
        port = resolver.port
    else:
        addresses = [a.strip().strip("[]") for a in nameservers]
        _check_nameservers(domain, addresses, port)
        resolver = Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(a, port) for a in addresses]
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def _check_nameservers(domain: str, addresses: Sequence[str], port: int) -> None:
    if not addresses:
        raise MxCheckError(MxFailure.INVALID_INPUT, domain, "no nameserver given to ask")
    for address in addresses:
        if not dns.inet.is_address(address):
            raise MxCheckError(
                MxFailure.INVALID_INPUT,
                domain,
                f"invalid nameserver {address!r}: not an IP address",
            )
    if not 0 < port < 65536:
        raise MxCheckError(MxFailure.INVALID_INPUT, domain, f"invalid nameserver port {port}")


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class _Lookup:
    """The queries of one check, sharing one deadline, with resolver errors put in words."""

    def __init__(self, name: DomainName, resolver: Resolver, timeout: float) -> None:
        self.name = name
        self.qname = dns.name.from_text(name.ascii)
        self.resolver = resolver
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        servers = resolver.nameservers
        self.servers = [
            _label(s.address, s.port)
            for s in servers
            if isinstance(s, dns.nameserver.Do53Nameserver)
        ]

    async def mail_hosts(self) -> tuple[tuple[MxRecord, ...], bool]:
        """The MX records, or the implicit MX ``0 <domain>``; (records, implicit)."""
        answer = await self._query("MX")
        if answer is not None:
            return _records(answer), False
        for rdtype in ("A", "AAAA"):
            if await self._query(rdtype) is not None:
                return (MxRecord(0, self.name.ascii),), True
        raise MxCheckError(
            MxFailure.NO_MAIL_HOST,
            self.name.text,
            f"{self.name.text} has no MX records and no A/AAAA address, so no mail can be"
            " delivered to it (RFC 5321 implicit MX needs an address)",
            nameservers=self.servers,
        )

    async def _query(self, rdtype: str) -> dns.rrset.RRset | None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout(rdtype, [])
        try:
            answer = await self.resolver.resolve(
                self.qname, rdtype, search=False, lifetime=remaining, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            raise MxCheckError(
                MxFailure.NO_SUCH_DOMAIN,
                self.name.text,
                f"domain {self.name.text} does not exist (NXDOMAIN)",
                nameservers=self.servers,
            ) from None
        except dns.resolver.LifetimeTimeout as error:
            raise self._timeout(rdtype, error.kwargs.get("errors") or []) from None
        except dns.resolver.NoNameservers as error:
            raise self._failed(rdtype, error.kwargs.get("errors") or []) from None
        except dns.exception.DNSException as error:
            raise MxCheckError(
                MxFailure.LOOKUP_FAILED,
                self.name.text,
                f"{rdtype} lookup of {self.name.text} failed: {error}",
                nameservers=self.servers,
            ) from None
        return answer.rrset

    def _timeout(self, rdtype: str, errors: list[tuple[object, ...]]) -> MxCheckError:
        silent = _servers_of(errors, lambda e: isinstance(e, dns.exception.Timeout))
        servers = silent or self.servers
        noun = "nameserver" if len(servers) == 1 else "nameservers"
        return MxCheckError(
            MxFailure.TIMEOUT,
            self.name.text,
            f"no answer from {noun} {', '.join(servers)} within {self.timeout:g} s"
            f" ({rdtype} query for {self.name.text})",
            nameservers=servers,
            seconds=self.timeout,
        )

    def _failed(self, rdtype: str, errors: list[tuple[object, ...]]) -> MxCheckError:
        servfail = _servers_of(errors, lambda e: e == "SERVFAIL")
        refused = _servers_of(errors, lambda e: e == "REFUSED")
        query = f"the {rdtype} query for {self.name.text}"
        if servfail:
            failure = MxFailure.SERVER_FAILURE
            why = (
                f"nameserver {', '.join(servfail)} answered SERVFAIL to {query}"
                " (the domain's DNS is broken, unreachable, or fails DNSSEC validation)"
            )
        elif refused and len(refused) == len(errors):
            failure = MxFailure.REFUSED
            why = (
                f"nameserver {', '.join(refused)} refused {query}"
                " (it does not serve this domain, or does not resolve for us)"
            )
        else:
            failure = MxFailure.LOOKUP_FAILED
            parts = [f"{_label(str(e[0]), int(str(e[2])))}: {e[3]}" for e in errors if len(e) > 3]
            why = (
                f"no nameserver could answer {query}: {'; '.join(parts) or 'no usable nameserver'}"
            )
        servers = servfail or refused or self.servers
        return MxCheckError(failure, self.name.text, why, nameservers=servers)


def _servers_of(errors: list[tuple[object, ...]], test: Callable[[object], bool]) -> list[str]:
    """Distinct ``address:port`` of resolver error entries whose error passes ``test``.

    dnspython's entries are (nameserver text, tcp, port, error, response); the text is
    ``Do53:<address>@<port>``.
    """
    found: dict[str, None] = {}
    for entry in errors:
        if len(entry) > 3 and test(entry[3]):
            text = str(entry[0]).removeprefix("Do53:").rsplit("@", 1)[0]
            found.setdefault(_label(text, int(str(entry[2]))), None)
    return list(found)


def _records(rrset: dns.rrset.RRset) -> tuple[MxRecord, ...]:
    records = set()
    for rdata in rrset:
        assert isinstance(rdata, dns.rdtypes.ANY.MX.MX)
        exchange = rdata.exchange
        text = NULL_MX if exchange == dns.name.root else exchange.to_text(omit_final_dot=True)
        records.add(MxRecord(int(rdata.preference), text.lower()))
    return tuple(sorted(records, key=lambda r: (r.preference, r.exchange)))


def _judge(
    domain: str, records: tuple[MxRecord, ...], targets: tuple[str, ...], *, implicit: bool
) -> tuple[bool, str]:
    """(points_to_target, detail) by the module's rule."""
    if all(r.exchange == NULL_MX for r in records):
        return False, f"{domain} publishes a null MX (RFC 7505): it accepts no mail"
    if implicit:
        head = (
            f"{domain} has no MX records; by RFC 5321 its own address receives mail"
            f" (implicit MX: 0 {records[0].exchange})"
        )
    else:
        head = f"MX of {domain}: {_listing(records)}"
    if not targets:
        return False, f"{head}; no target given to compare with"
    lowest = records[0].preference
    first = [r for r in records if r.preference == lowest]
    hits = [r for r in records if matches_any(r.exchange, targets)]
    first_misses = [r for r in first if r not in hits]
    backup_misses = [r for r in records if r.preference != lowest and r not in hits]
    if not hits:
        return False, f"{head}; the target ({' or '.join(targets)}) is not among them"
    if first_misses:
        verb = "points" if len(first_misses) == 1 else "point"
        if any(r in first for r in hits):
            why = f"the target shares the lowest preference {lowest} with {_listing(first_misses)}"
            return False, f"{head}; {why}, which still {verb} elsewhere"
        why = f"the target is only a backup: the lowest-preference MX {_listing(first_misses)}"
        return False, f"{head}; {why} still {verb} elsewhere"
    if backup_misses:
        verb = "points" if len(backup_misses) == 1 else "point"
        return True, (
            f"{head}; the lowest-preference MX points at the target,"
            f" but {_listing(backup_misses)} still {verb} elsewhere"
        )
    return True, f"{head}; all MX hosts point at the target"


def _listing(records: Sequence[MxRecord]) -> str:
    return ", ".join(f"{r.preference} {r.exchange}" for r in records)
