"""A FAKE of the clouds' OAuth2 token services, on 127.0.0.1, for the tests.

It is no identity provider: it plays the part of Microsoft Entra ID (an OpenID
configuration and the v2.0 token endpoint, client credentials with a secret or a
certificate-signed assertion), of Google's token endpoint (a service account's signed
JWT with a subject: domain-wide delegation) and of any OAuth2 server's refresh-token
grant, and answers Dovecot's ``oauth2`` passdb at an RFC 7662 introspection endpoint.
What it checks is what the real ones check of a well-formed request: the client's
secret, the assertion's signature (with the registered certificate or public key), its
audience and expiry, the scope, the delegated user. Its tokens are opaque random
strings that live ``lifetime`` seconds, so a test can outlive several of them.

An Entra app token is not for one mailbox: Exchange checks at login that the app was
granted the mailbox XOAUTH2 names. Dovecot's introspection sends only the token, so
the front door in ``token_gate`` tells this server (``bind``) which mailbox a token
logs in to; introspection then says the token is that mailbox's when the app is granted
it. Serves HTTPS with a certificate from the rig's CA (MSAL insists on https), or
plain HTTP. Runs in its own thread; every wait is bounded; ``close`` stops it. The
registrations and the checks of each grant are in ``token_grants``.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from mailferry.rig.certs import RigCA
from mailferry.rig.errors import RigError
from mailferry.rig.token_grants import (
    JWT_BEARER,
    Delegation,
    EntraApp,
    Issued,
    RefreshGrant,
    Refusal,
    ServiceAccount,
    entra_refusal,
    google_grant,
)

__all__ = ["EntraApp", "Issued", "RefreshGrant", "ServiceAccount", "TokenServer"]

STOP_TIMEOUT: Final = 10.0


class TokenServer:
    """The fake; see the module docstring. ``lifetime``: seconds a token lives."""

    host = "127.0.0.1"

    def __init__(self, *, lifetime: int = 20, ca: RigCA | None = None, directory: Path) -> None:
        if lifetime < 1:
            raise RigError(f"token lifetime must be at least 1 s, not {lifetime}")
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._apps: dict[tuple[str, str], EntraApp] = {}
        self._accounts: dict[str, ServiceAccount] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._issued: dict[str, Issued] = {}
        self._order: list[Issued] = []
        self._bound: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._rotated: dict[str, str] = {}  # access token -> the refresh token replacing
        self._fail_next: list[int] = []
        self.hits: Counter[str] = Counter()
        self.refusals: list[str] = []
        self.introspections: list[tuple[str, bool]] = []  # (username or "", active)
        self._server = ThreadingHTTPServer((self.host, 0), _handler(self))
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.scheme = "http"
        if ca is not None:
            cert = ca.issue(directory, self.host, name="token-server")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert.cert_path, cert.key_path)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-server")
        self._started = False

    # -- addresses --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Entra's authority host (``<base_url>/<tenant>`` is the authority)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        """Google's ``token_uri`` and the refresh-token grant's endpoint."""
        return f"{self.base_url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def entra_token_endpoint(self, tenant: str) -> str:
        return f"{self.base_url}/{tenant}/oauth2/v2.0/token"

    # -- what the test registers ------------------------------------------------------

    def add_entra_app(self, app: EntraApp) -> None:
        with self._lock:
            self._apps[(app.tenant, app.client_id)] = app

    def add_service_account(self, account: ServiceAccount) -> None:
        with self._lock:
            self._accounts[account.client_email] = account

    def add_refresh_grant(self, grant: RefreshGrant) -> str:
        """The new refresh token of ``grant``."""
        token = f"rt-{secrets.token_urlsafe(18)}"
        with self._lock:
            self._refresh[token] = grant
        return token

    def revoke(self, token: str) -> None:
        """The token stops working now (introspection says inactive)."""
        with self._lock:
            self._revoked.add(token)

    def fail_next(self, *statuses: int) -> None:
        """The next token requests get these HTTP statuses (e.g. 503) instead."""
        with self._lock:
            self._fail_next.extend(statuses)

    def bind(self, token: str, user: str) -> None:
        """A login of ``user`` with ``token`` (the front door says so; see the module)."""
        with self._lock:
            self._bound[token] = user

    # -- what the test reads ----------------------------------------------------------

    def issued(self, kind: str | None = None) -> list[Issued]:
        with self._lock:
            return [i for i in self._order if kind is None or i.kind == kind]

    def lookup(self, token: str) -> Issued | None:
        with self._lock:
            return self._issued.get(token)

    def expired(self, token: str, now: float | None = None) -> bool:
        """Past its lifetime, revoked, or never issued here."""
        with self._lock:
            issued = self._issued.get(token)
            gone = token in self._revoked
        moment = time.time() if now is None else now
        return issued is None or gone or moment >= issued.expires_at

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> TokenServer:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def close(self) -> None:
        if self._started:
            self._server.shutdown()
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                raise RigError("token server: its thread did not stop")
        self._server.server_close()

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the endpoints (called from the server's threads) -----------------------------

    def answer(
        self, method: str, path: str, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            self._hit("openid-configuration")
            return 200, self._openid_configuration(parts[0])
        if method != "POST":
            return 404, {"error": "not_found"}
        if parts == ["introspect"]:
            self._hit("introspect")
            return 200, self._introspect(form.get("token", ""))
        status = self._take_failure()
        if status is not None:
            self._hit("failed")
            return status, {"error": "temporarily_unavailable", "error_description": "fake"}
        if parts[1:] == ["oauth2", "v2.0", "token"]:
            self._hit("entra")
            return self._refused_or(self._entra(parts[0], form))
        if parts == ["token"] and form.get("grant_type") == JWT_BEARER:
            self._hit("google")
            return self._refused_or(self._google(form))
        if parts == ["token"] and form.get("grant_type") == "refresh_token":
            self._hit("refresh-token")
            return self._refused_or(self._refresh_grant(form, basic))
        return 404, {"error": "not_found"}

    def _hit(self, name: str) -> None:
        with self._lock:
            self.hits[name] += 1

    def _take_failure(self) -> int | None:
        with self._lock:
            return self._fail_next.pop(0) if self._fail_next else None

    def _refused_or(self, result: Issued | Refusal) -> tuple[int, dict[str, Any]]:
        if isinstance(result, Issued):
            body: dict[str, Any] = {
                "token_type": "Bearer",
                "access_token": result.token,
                "expires_in": self.lifetime,
            }
            if result.kind == "entra":
                body["ext_expires_in"] = self.lifetime
            with self._lock:
                rotated = self._rotated.pop(result.token, None)
            if rotated is not None:
                body["refresh_token"] = rotated
            return 200, body
        status, error, description = result
        with self._lock:
            self.refusals.append(error)
        return status, {"error": error, "error_description": description}

    def _issue(self, kind: str, client: str, user: str | None, mailboxes: frozenset[str]) -> Issued:
        token = f"{kind[:2]}-{secrets.token_urlsafe(24)}"
        issued = Issued(token, kind, client, user, mailboxes, time.time() + self.lifetime)
        with self._lock:
            self._issued[token] = issued
            self._order.append(issued)
        return issued

    def _openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.base_url}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        }

    def _entra(self, tenant: str, form: dict[str, str]) -> Issued | Refusal:
        with self._lock:
            app = self._apps.get((tenant, form.get("client_id", "")))
        refusal = entra_refusal(app, form, self.entra_token_endpoint(tenant))
        if refusal is not None:
            return refusal
        assert app is not None
        return self._issue("entra", app.client_id, None, app.mailboxes)

    def _google(self, form: dict[str, str]) -> Issued | Refusal:
        with self._lock:
            accounts = dict(self._accounts)
        checked = google_grant(accounts, form)
        if not isinstance(checked, Delegation):
            return checked
        return self._issue("google", checked.client_email, checked.subject, frozenset())

    def _refresh_grant(
        self, form: dict[str, str], basic: tuple[str, str] | None
    ) -> Issued | Refusal:
        client_id, client_secret = basic or (form.get("client_id", ""), form.get("client_secret"))
        refresh = form.get("refresh_token", "")
        with self._lock:
            grant = self._refresh.get(refresh)
        if grant is None:
            return 400, "invalid_grant", "The refresh token is invalid or expired."
        if client_id != grant.client_id or (client_secret or None) != grant.client_secret:
            return 401, "invalid_client", "Client authentication failed."
        issued = self._issue("refresh-token", client_id, grant.user, frozenset())
        if grant.rotate:
            new = self.add_refresh_grant(grant)
            with self._lock:
                del self._refresh[refresh]
                self._rotated[issued.token] = new
        return issued

    def _introspect(self, token: str) -> dict[str, Any]:
        issued = self.lookup(token)
        with self._lock:
            bound = self._bound.get(token)
        user = None
        if issued is not None and not self.expired(token):
            user = issued.user
            if (
                user is None
                and bound is not None
                and bound.casefold() in {m.casefold() for m in issued.mailboxes}
            ):
                user = bound
        with self._lock:
            self.introspections.append((user or "", user is not None))
        if issued is None or user is None:
            return {"active": False}
        return {
            "active": True,
            "username": user,
            "client_id": issued.client,
            "exp": int(issued.expires_at),
            "token_type": "Bearer",
        }


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._respond("GET")

        def do_POST(self) -> None:
            self._respond("POST")

        def _respond(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            form = dict(parse_qsl(raw, keep_blank_values=True))
            path = urlsplit(self.path).path
            basic = _basic(self.headers.get("Authorization"))
            status, body = server.answer(method, path, form, basic)
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the requests carry secrets

    return Handler


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except ValueError:
        return None
    user, _, password = decoded.partition(":")
    return user, password
