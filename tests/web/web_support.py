"""Glue of the console tests: a façade on a fresh SQLite file, the app (API and
console) in Starlette's TestClient, a token, an administrator, and signing in."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from mailferry.app import Mailferry, ServiceChanges
from mailferry.interfaces.http.app import create_app
from mailferry.interfaces.http.auth import read_access, write_access

ADMIN = ("alice", "correct horse battery staple")
HTML = {"Accept": "text/html,application/xhtml+xml"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    facade: Mailferry
    app: FastAPI
    token: str
    read_token: str

    def client(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(self.app, base_url=base_url, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, *, token: str | None = None, admin: bool = False) -> str:
    """Sign ``client`` in; the session's CSRF token (read from the page it lands on)."""
    form = client.get("/signin", headers=HTML)
    data = {"csrf": csrf_of(form.text), "next": "/batches"}
    if admin:
        data |= {"method": "password", "name": ADMIN[0], "password": ADMIN[1]}
    else:
        assert token is not None
        data |= {"method": "token", "token": token}
    done = client.post("/signin", data=data, headers=HTML)
    assert done.status_code == 303, done.text
    landed = client.get(done.headers["location"], headers=HTML)
    assert landed.status_code == 200, landed.text
    return csrf_of(landed.text)


def console_env(home: Path) -> dict[str, str]:
    return {"MAILFERRY_HOME": str(home), "MAILFERRY_TARGET": f"maildir:{home / 'mail'}"}


@contextlib.contextmanager
def open_console(home: Path) -> Iterator[Console]:
    changes = ServiceChanges(poll_seconds=0.1, retry_base_seconds=1.0)
    with Mailferry.open(
        f"sqlite:///{home / 'mailferry.db'}", console_env(home), changes=changes
    ) as f:
        token, _ = f.tokens.new("admin", read_only=False)
        read_token, _ = f.tokens.new("viewer", read_only=True)
        f.admins.new(*ADMIN)
        app = create_app(f, read_access=read_access, write_access=write_access)
        yield Console(f, app, token, read_token)
