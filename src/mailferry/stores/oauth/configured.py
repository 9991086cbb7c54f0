"""A renewing token provider made from its settings, shared by every job that uses them.

``ConfiguredTokenProvider(kind, values)`` checks the settings at once (every problem
named), then makes the ``CachedTokenProvider`` on first use. Pickled (the one-shot
``migrate`` hands its request to worker processes) it travels as its settings alone:
each process makes its own cache and its own library clients, never a live HTTP
client or a pending request; ``on_rotate`` goes along only if it is a
``RefreshTokensFile`` (a batch's, writing to the vault, stays in its process).
Neither the settings nor a token appear in its ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mailferry.stores.oauth.cache import DEFAULT_MARGIN, CachedTokenProvider
from mailferry.stores.oauth.settings import oauth_settings, token_provider
from mailferry.stores.oauth.token_file import RefreshTokensFile

Rotate = Callable[[str, str], None]


class ConfiguredTokenProvider:
    """A ``RenewableTokenProvider`` (``stores.logins``) for provider ``kind``."""

    def __init__(
        self,
        kind: str,
        values: Mapping[str, Any],
        *,
        margin: float = DEFAULT_MARGIN,
        on_rotate: Rotate | None = None,
    ) -> None:
        self.kind = kind
        self._values = dict(values)
        self._settings = oauth_settings(kind, self._values)
        self.margin = margin
        self.on_rotate = on_rotate
        self._provider: CachedTokenProvider | None = None

    def __repr__(self) -> str:
        return f"ConfiguredTokenProvider({self.kind!r}, requests={self.requests})"

    def __reduce__(self) -> tuple[Any, ...]:
        rotate = self.on_rotate if isinstance(self.on_rotate, RefreshTokensFile) else None
        return (_remade, (self.kind, self._values, self.margin, rotate))

    @property
    def provider(self) -> CachedTokenProvider:
        if self._provider is None:
            self._provider = token_provider(
                self._settings, margin=self.margin, on_rotate=self.on_rotate
            )
        return self._provider

    @property
    def requests(self) -> int:
        """Token requests made so far (none until the first login)."""
        return 0 if self._provider is None else self._provider.requests

    async def token(self, user: str) -> str:
        return await self.provider.token(user)

    def invalidate(self, user: str, token: str | None = None) -> None:
        self.provider.invalidate(user, token)


def _remade(
    kind: str, values: Mapping[str, Any], margin: float, on_rotate: Rotate | None
) -> ConfiguredTokenProvider:
    return ConfiguredTokenProvider(kind, values, margin=margin, on_rotate=on_rotate)
