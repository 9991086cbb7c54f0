"""Throw-away certificate authorities for TLS tests (wraps ``trustme``)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class ServerCert:
    """A leaf certificate (chain PEM) and its private key, written to disk."""

    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class RigCA:
    """A test CA whose certificate is written to ``ca_pem_path``.

    Create two to test "certificate signed by the wrong CA": trust one, serve the other.
    """

    ca: Any  # trustme.CA (untyped library)
    ca_pem_path: Path

    @classmethod
    def create(cls, directory: Path, name: str = "ca") -> RigCA:
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name=f"mailferry test {name}")
        path = directory / f"{name}.pem"
        ca.cert_pem.write_to_path(str(path))
        return cls(ca=ca, ca_pem_path=path)

    def issue(self, directory: Path, *hosts: str, name: str = "server") -> ServerCert:
        """Issue a server certificate for ``hosts`` (default 127.0.0.1, ::1, localhost)."""
        directory.mkdir(parents=True, exist_ok=True)
        leaf = self.ca.issue_cert(*(hosts or ("127.0.0.1", "::1", "localhost")))
        cert_path = directory / f"{name}-cert.pem"
        key_path = directory / f"{name}-key.pem"
        cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key_path.write_bytes(leaf.private_key_pem.bytes())
        key_path.chmod(0o600)
        return ServerCert(cert_path=cert_path, key_path=key_path)

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl`` client context that trusts exactly this CA."""
        return ssl.create_default_context(cafile=str(self.ca_pem_path))
