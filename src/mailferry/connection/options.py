"""How to reach an IMAP server: address, security mode, certificates, timeouts."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from mailferry.values.connection import Security


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
