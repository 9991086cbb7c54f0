"""Helpers of the store tests, on the session's Dovecot servers (tests/conftest.py).

``dovecot_source`` (maildir) serves the IMAP source tests and the Maildir read-back;
``dovecot_target`` (sdbox, quota plugin) serves the IMAP target tests. Every test
makes its own users, so nothing depends on test order.
"""

from __future__ import annotations

import itertools

from mailferry.connection.options import ConnectOptions
from mailferry.rig.dovecot import DovecotServer
from mailferry.values.connection import Security
from tests.conftest import MASTER_USER as _MASTER

MASTER_USER = _MASTER.name
MASTER_PASSWORD = _MASTER.password
_users = itertools.count(1)


def connect_options(server: DovecotServer) -> ConnectOptions:
    """Implicit TLS to the server, trusting the rig's CA."""
    return ConnectOptions(
        server.host,
        server.imaps_port,
        security=Security.SSL,
        ca_file=server.ca_pem_path,
        connect_timeout=10,
        command_timeout=30,
    )


def new_user(
    server: DovecotServer, prefix: str = "user", *, quota_mb: int | None = None
) -> tuple[str, str]:
    """A fresh user on ``server``: (e-mail address, password)."""
    address = f"stores-{prefix}{next(_users)}@example.com"
    password = f"pw-{address}"
    server.add_user(address, password, quota_mb=quota_mb)
    return address, password
