"""Google Workspace tokens for Gmail IMAP: a service account with domain-wide delegation.

The Workspace admin lets the service account's client id act for the domain's users
with the scope ``https://mail.google.com/``; each mailbox's token is then asked for
with that user as the JWT's subject (``sub``), signed with the key file's private key
(google-auth's ``service_account.Credentials.with_subject``). The key file's
``token_uri`` is where the signed JWT goes; ``token_uri`` in the settings overrides it
(the tests' local fake), ``ca_file`` is the CA that endpoint's certificate chains to.
google-auth is blocking: each request runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import requests

from mailferry.errors import InvalidSetting, TokenRequestFailed
from mailferry.stores.oauth.cache import Grant
from mailferry.stores.oauth.http_session import token_session

GMAIL_SCOPE: Final = "https://mail.google.com/"
_REQUIRED_KEYS = ("client_email", "private_key", "token_uri")


@dataclass(frozen=True)
class GoogleSettings:
    """A service account's key (the JSON key file's fields) and the scope to ask for."""

    service_account_info: Mapping[str, Any] = field(repr=False)
    scope: str = GMAIL_SCOPE
    token_uri: str | None = None
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        info = self.service_account_info
        missing = [key for key in _REQUIRED_KEYS if not info.get(key)]
        if self.token_uri:
            missing = [key for key in missing if key != "token_uri"]
        if missing:
            raise InvalidSetting([f"Google: the service account key lacks {', '.join(missing)}"])
        if info.get("type", "service_account") != "service_account":
            raise InvalidSetting([f"Google: the key is of type {info.get('type')!r}, "
                                  "not a service account key"])  # fmt: skip

    @property
    def client_email(self) -> str:
        return str(self.service_account_info["client_email"])

    @classmethod
    def from_json(cls, text: str, **more: Any) -> GoogleSettings:
        """From the key file's text (as Google's console downloads it)."""
        try:
            info = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidSetting(
                [f"Google: the service account key is not JSON ({exc.msg})"]
            ) from exc
        if not isinstance(info, dict):
            raise InvalidSetting(["Google: the service account key is not a JSON object"])
        return cls(info, **more)


class GoogleTokenSource:
    """The ``TokenSource`` of a service account: one token per user (its subject)."""

    def __init__(self, settings: GoogleSettings, *, session: requests.Session | None = None):
        self.settings = settings
        from google.oauth2 import service_account  # loaded when first used: ~0.2 s

        info = dict(settings.service_account_info)
        if settings.token_uri:
            info["token_uri"] = settings.token_uri
        try:
            self._base = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[settings.scope]
            )
        except ValueError as exc:  # google-auth's words name the field, never the key
            raise InvalidSetting([f"Google: the service account key is unusable: {exc}"]) from exc
        self._session = session or token_session(settings.ca_file)

    def __repr__(self) -> str:
        return f"GoogleTokenSource(client_email={self.settings.client_email!r})"

    async def fetch(self, user: str, *, forced: bool) -> Grant:
        return await asyncio.to_thread(self._acquire, user)

    def _acquire(self, user: str) -> Grant:
        from google.auth import exceptions
        from google.auth.transport.requests import Request

        credentials = self._base.with_subject(user)
        try:
            credentials.refresh(Request(self._session))
        except exceptions.RefreshError as exc:
            raise TokenRequestFailed(_refusal(exc), transient=exc.retryable) from exc
        except exceptions.TransportError as exc:
            raise TokenRequestFailed("Google: the token endpoint could not be reached",
                                     transient=True) from exc  # fmt: skip
        token = credentials.token
        if not isinstance(token, str) or not token:
            raise TokenRequestFailed("Google: no access_token in the answer")
        return Grant(token, _seconds_left(credentials.expiry))


def _refusal(error: Exception) -> str:
    """Google's ``error: error_description`` (e.g. ``unauthorized_client``: delegation
    not granted), from the answer google-auth attaches; else its first words."""
    for arg in error.args[1:]:
        if isinstance(arg, dict) and arg.get("error"):
            description = arg.get("error_description")
            return f"Google: {arg['error']}" + (f": {description}" if description else "")
    return f"Google: {str(error.args[0]) if error.args else type(error).__name__}"


def _seconds_left(expiry: dt.datetime | None) -> float:
    """google-auth's expiry is a naive UTC datetime."""
    if expiry is None:
        return 0.0
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return max(0.0, (expiry - now).total_seconds())
