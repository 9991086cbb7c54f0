"""A generic OAuth2 refresh-token grant (RFC 6749 §6) for other XOAUTH2 servers.

Each mailbox has its own refresh token (its owner consented once, out of band); the
token endpoint trades it for an access token. A server that rotates refresh tokens
answers a new one with each access token: it replaces the old one in memory and goes
to ``on_rotate`` (the caller keeps it, e.g. in the vault), since the old one may stop
working. The client authenticates in the form body (``client_secret_post``) or with
HTTP Basic (``client_secret_basic``); a public client sends only its id.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx

from mailferry.errors import InvalidSetting, TokenRequestFailed
from mailferry.stores.oauth.cache import Grant
from mailferry.stores.oauth.http_session import REQUEST_TIMEOUT

ClientAuth = Literal["body", "basic"]
UNSTATED_LIFETIME: Final = 3600.0
"""Seconds a token is taken to live when the answer has no ``expires_in`` (RFC 6749
only recommends it); should it end sooner, the server's refusal renews it."""
_TRANSIENT_ERRORS: Final = frozenset({"temporarily_unavailable", "server_error", "slow_down"})


@dataclass(frozen=True)
class RefreshTokenSettings:
    """The token endpoint, the client, and each mailbox's refresh token."""

    token_url: str
    client_id: str
    refresh_tokens: Mapping[str, str] = field(repr=False)
    client_secret: str | None = field(default=None, repr=False)
    scope: str | None = None
    client_auth: ClientAuth = "body"
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        problems = []
        parts = urlsplit(self.token_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            problems.append(f"refresh-token: token URL {self.token_url!r} is not https://HOST/…")
        if not self.client_id.strip():
            problems.append("refresh-token: the client id is empty")
        if not self.refresh_tokens:
            problems.append("refresh-token: no mailbox has a refresh token")
        if self.client_auth not in ("body", "basic"):
            problems.append(f"refresh-token: client auth {self.client_auth!r} is not body or basic")
        if problems:
            raise InvalidSetting(problems)


class RefreshTokenSource:
    """The ``TokenSource`` of a refresh-token grant; refresh tokens looked up without
    regard to the address's case."""

    def __init__(
        self,
        settings: RefreshTokenSettings,
        *,
        on_rotate: Callable[[str, str], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.on_rotate = on_rotate
        self._transport = transport
        self._refresh = {k.casefold(): v for k, v in settings.refresh_tokens.items()}

    def __repr__(self) -> str:
        return f"RefreshTokenSource(token_url={self.settings.token_url!r})"

    async def fetch(self, user: str, *, forced: bool) -> Grant:
        refresh = self._refresh.get(user.casefold())
        if refresh is None:
            raise TokenRequestFailed(f"refresh-token: no refresh token given for {user}")
        answer = await self._post(refresh)
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != refresh:
            self._refresh[user.casefold()] = rotated
            if self.on_rotate is not None:
                self.on_rotate(user, rotated)
        return grant_of(answer)

    async def _post(self, refresh: str) -> dict[str, Any]:
        settings = self.settings
        form = {"grant_type": "refresh_token", "refresh_token": refresh}
        auth: httpx.BasicAuth | None = None
        if settings.client_auth == "basic" and settings.client_secret is not None:
            auth = httpx.BasicAuth(settings.client_id, settings.client_secret)
        else:
            form["client_id"] = settings.client_id
            if settings.client_secret is not None:
                form["client_secret"] = settings.client_secret
        if settings.scope:
            form["scope"] = settings.scope
        verify: ssl.SSLContext | bool = True
        if settings.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(settings.ca_file))
        try:
            async with httpx.AsyncClient(
                auth=auth, timeout=REQUEST_TIMEOUT, verify=verify, transport=self._transport
            ) as client:
                headers = {"Accept": "application/json"}
                response = await client.post(settings.token_url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise TokenRequestFailed(
                f"refresh-token: {settings.token_url} could not be reached ({type(exc).__name__})",
                transient=True,
            ) from exc
        return answer_of(response)


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a token answer; an error answer raises ``TokenRequestFailed``
    with the server's ``error``/``error_description`` (transient: 5xx, 429 or an error
    code that says so)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 200 and "error" not in body:
        return body
    error = str(body.get("error") or f"HTTP {response.status_code}")
    description = body.get("error_description")
    transient = response.status_code >= 500 or response.status_code == 429
    reason = f"refresh-token: {error}" + (f": {description}" if description else "")
    raise TokenRequestFailed(reason, transient=transient or error in _TRANSIENT_ERRORS)


def grant_of(answer: Mapping[str, Any]) -> Grant:
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenRequestFailed("refresh-token: no access_token in the answer")
    try:
        expires_in = float(answer.get("expires_in", UNSTATED_LIFETIME))
    except (TypeError, ValueError):
        expires_in = UNSTATED_LIFETIME
    return Grant(token, expires_in)
