"""Microsoft Entra ID app-only tokens for Exchange Online IMAP (client credentials, MSAL).

The app registration has the ``IMAP.AccessAsApp`` permission and its service principal
is granted each mailbox (``Add-MailboxPermission``); one token of the app then opens any
granted mailbox, the mailbox named by XOAUTH2's ``user=``. The app proves itself with a
client secret or a certificate (MSAL signs the client assertion with its private key).

MSAL keeps the app token in its own cache; the per-mailbox cache above it
(``cache.CachedTokenProvider``) decides when to ask, and a forced request (the server
refused the token) empties MSAL's cache first, so a refused token is not handed out
again. MSAL's network calls are blocking: they run in a worker thread.
``authority_host`` and ``ca_file`` point MSAL elsewhere than login.microsoftonline.com
(a national cloud, or the tests' local fake); instance discovery is then off.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from mailferry.errors import InvalidSetting, TokenRequestFailed
from mailferry.stores.oauth.cache import Grant
from mailferry.stores.oauth.http_session import token_session

PUBLIC_AUTHORITY: Final = "https://login.microsoftonline.com"
EXCHANGE_SCOPE: Final = "https://outlook.office365.com/.default"
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


@dataclass(frozen=True)
class EntraCertificate:
    """The app's certificate credential: its private key and certificate, PEM."""

    private_key_pem: str = field(repr=False)
    certificate_pem: str
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EntraSettings:
    """One app registration of one tenant: a ``client_secret`` or a ``certificate``."""

    tenant: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    certificate: EntraCertificate | None = None
    authority_host: str = PUBLIC_AUTHORITY
    scope: str = EXCHANGE_SCOPE
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.tenant.strip():
            problems.append("Entra: the tenant (directory id or domain) is empty")
        if not self.client_id.strip():
            problems.append("Entra: the client id is empty")
        if (self.client_secret is None) == (self.certificate is None):
            problems.append("Entra: give either a client secret or a certificate, not both")
        parts = urlsplit(self.authority_host)
        if parts.scheme != "https" or not parts.hostname:
            problems.append(f"Entra: authority host {self.authority_host!r} is not https://HOST")
        if problems:
            raise InvalidSetting(problems)

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant}"


class EntraTokenSource:
    """The ``TokenSource`` of an Entra app: one token for every mailbox it is granted."""

    def __init__(self, settings: EntraSettings, *, http_client: Any = None) -> None:
        self.settings = settings
        self._http_client = http_client
        self._app: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        settings = self.settings
        return f"EntraTokenSource(tenant={settings.tenant!r}, client_id={settings.client_id!r})"

    async def fetch(self, user: str, *, forced: bool) -> Grant:
        return await asyncio.to_thread(self._acquire, forced)

    def _acquire(self, forced: bool) -> Grant:
        with self._lock:
            try:
                app = self._application()
                if forced:
                    app.remove_tokens_for_client()
                result = app.acquire_token_for_client(scopes=[self.settings.scope])
            except requests.RequestException as exc:
                raise TokenRequestFailed(f"Entra: {type(exc).__name__}", transient=True) from exc
            except _msal().exceptions.MsalServiceError as exc:  # an answer MSAL can't read
                raise TokenRequestFailed(f"Entra: {exc}", transient=True) from exc
            except ValueError as exc:  # MSAL refusing a setting (a bad PEM, an authority)
                raise TokenRequestFailed(f"Entra: {exc}") from exc
        return _grant(result)

    def _application(self) -> Any:
        if self._app is None:
            settings = self.settings
            custom = settings.authority_host.rstrip("/") != PUBLIC_AUTHORITY
            self._app = _msal().ConfidentialClientApplication(
                settings.client_id,
                client_credential=_credential(settings),
                authority=settings.authority,
                http_client=self._http_client or token_session(settings.ca_file),
                instance_discovery=False if custom else None,
                validate_authority=not custom,
            )
        return self._app


def _msal() -> Any:
    """MSAL, loaded when first used (~0.2 s): the job path imports this module's peers."""
    import msal  # type: ignore[import-untyped]
    import msal.exceptions  # type: ignore[import-untyped]

    return msal


def _credential(settings: EntraSettings) -> str | dict[str, str]:
    if settings.client_secret is not None:
        return settings.client_secret
    certificate = settings.certificate
    assert certificate is not None
    credential = {
        "private_key": certificate.private_key_pem,
        "public_certificate": certificate.certificate_pem,
    }
    if certificate.passphrase:
        credential["passphrase"] = certificate.passphrase
    return credential


def _grant(result: Any) -> Grant:
    """MSAL's answer: a token, or Entra's error (``AADSTS…`` words, never a secret)."""
    if not isinstance(result, dict):
        raise TokenRequestFailed("Entra: no answer from the token endpoint", transient=True)
    token = result.get("access_token")
    if isinstance(token, str) and token:
        return Grant(token, float(result.get("expires_in") or 0))
    error = str(result.get("error") or "no access_token")
    description = str(result.get("error_description") or "").splitlines()
    reason = f"Entra: {error}" + (f": {description[0]}" if description else "")
    raise TokenRequestFailed(reason, transient=error in _TRANSIENT_ERRORS)
