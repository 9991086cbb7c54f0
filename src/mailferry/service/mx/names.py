"""Names for the MX check: the domain asked about, the expected hosts, and how they match.

Domains are read the way browsers and registries read them (IDNA 2008 with UTS #46
mapping, non-transitional: ``Bücher.Example`` is ``xn--bcher-kva.example``, ``straße.de``
stays ``xn--strae-oqa.de``), and must be host names (letters, digits, hyphens).

An expected host matches an MX host when both are equal ignoring case and a trailing dot;
an expected entry ``*.mail.protection.outlook.com`` matches any host *below* that suffix
(``contoso-com.mail.protection.outlook.com``) but not the suffix itself, as in DNS wildcards.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import idna

from mailferry.errors import MxCheckError, MxFailure

MAX_DOMAIN_LENGTH = 253


@dataclass(frozen=True)
class DomainName:
    """A validated domain: ``ascii`` as queried in DNS, ``text`` as shown to people."""

    ascii: str
    text: str


def parse_domain(raw: str, *, what: str = "domain") -> DomainName:
    """Validate and normalize ``raw`` (case, trailing dot, IDNA); MxCheckError names the input."""
    text = raw.strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]

    def bad(why: str) -> MxCheckError:
        return MxCheckError(MxFailure.INVALID_INPUT, raw, f"invalid {what} {raw!r}: {why}")

    if not text:
        raise bad("it is empty")
    if "@" in text:
        raise bad("that is an e-mail address; give only the part after the @")
    if _is_ip_address(text):
        raise bad("that is an IP address, not a domain name")
    try:
        ascii_name = idna.encode(text, uts46=True, std3_rules=True, transitional=False).decode()
        shown = idna.decode(ascii_name)
    except idna.IDNAError as error:
        raise bad(_idna_reason(error)) from None
    if len(ascii_name) > MAX_DOMAIN_LENGTH:
        raise bad(f"longer than {MAX_DOMAIN_LENGTH} characters")
    if ascii_name.rsplit(".", 1)[-1].isdigit():
        raise bad("the last label is all digits, so it can't be a domain name")
    return DomainName(ascii_name, shown)


def parse_expected(entries: Iterable[str]) -> tuple[str, ...]:
    """Normalize expected hosts (ASCII, lowercase, ``*.`` prefix kept), without duplicates."""
    patterns: dict[str, None] = {}
    for entry in entries:
        stripped = entry.strip()
        wildcard = stripped.startswith("*.")
        host = stripped[2:] if wildcard else stripped
        if "*" in host:
            raise MxCheckError(
                MxFailure.INVALID_INPUT,
                entry,
                f"invalid expected host {entry!r}: only a leading '*.' wildcard is supported",
            )
        name = parse_domain(host, what="expected host").ascii
        patterns.setdefault(f"*.{name}" if wildcard else name, None)
    return tuple(patterns)


def host_matches(host: str, pattern: str) -> bool:
    """``host`` (an MX exchange) matches a normalized expected ``pattern``."""
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def matches_any(host: str, patterns: Sequence[str]) -> bool:
    return any(host_matches(host, pattern) for pattern in patterns)


def domains_of(addresses: Iterable[str]) -> list[str]:
    """Distinct lowercased domains of e-mail addresses, in first-seen order.

    Domains are in the shown form of :class:`DomainName` (``bücher.example`` also for
    ``xn--bcher-kva.example``); one that is not a valid host name is kept lowercased as
    written, so a later MX check reports it. Addresses without a domain are skipped.
    """
    seen: dict[str, None] = {}
    for address in addresses:
        local, at, domain = address.strip().rpartition("@")
        domain = domain.strip()
        if not at or not local or not domain:
            continue
        try:
            key = parse_domain(domain).text
        except MxCheckError:
            key = domain.rstrip(".").lower()
        seen.setdefault(key, None)
    return list(seen)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _idna_reason(error: idna.IDNAError) -> str:
    reason = str(error) or type(error).__name__
    if reason == "Empty Label":
        return "it has an empty label (two dots in a row, or invisible characters)"
    if reason == "Empty domain":
        return "it is empty"
    return reason[0].lower() + reason[1:]
