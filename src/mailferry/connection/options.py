"""How to reach an IMAP server: address, security mode, certificates, timeouts."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Security(StrEnum):
    """Transport security, named as Exchange's ``-Security`` parameter names them."""

    NONE = "None"
    SSL = "Ssl"  # implicit TLS from the first byte (port 993)
    TLS = "Tls"  # STARTTLS on a plain connection (port 143); never continues in clear

    @classmethod
    def parse(cls, text: str) -> Security:
        """Case-insensitive parse of ``None``/``Ssl``/``Tls``."""
        for member in cls:
            if member.value.lower() == text.strip().lower():
                return member
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown security {text!r}; expected one of {choices}")


@dataclass(frozen=True)
class ConnectOptions:
    """Everything needed to open one IMAP connection (no credentials here)."""

    host: str
    port: int
    security: Security = Security.SSL
    accept_untrusted_certificates: bool = False
    ca_file: Path | None = None  # extra CA to trust (tests, private CAs)
    connect_timeout: float = 15.0
    command_timeout: float = 120.0  # seconds without any progress before giving up
    compress: bool = False  # COMPRESS=DEFLATE when the server offers it
    read_chunk: int = 256 * 1024
    spool_threshold: int = 2 * 1024 * 1024  # bodies above this go to a temp file
    max_literal_size: int = 1024 * 1024 * 1024
    max_line_length: int = 16 * 1024 * 1024

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context: verifying by default, permissive only when asked."""
        context = ssl.create_default_context()
        if self.ca_file is not None:
            context.load_verify_locations(cafile=str(self.ca_file))
        if self.accept_untrusted_certificates:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def default_port(security: Security) -> int:
    """993 for implicit TLS, 143 otherwise."""
    return 993 if security is Security.SSL else 143
