"""The façade's API tokens (``Mailferry.tokens``): JSON-ready views, never a hash or a
token's text except the one ``new`` returns."""

from __future__ import annotations

from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.tokens.manage import (
    check_token,
    list_tokens,
    new_token,
    revoke_token,
    token_properties,
)


class TokenAdmin:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def new(self, name: str, *, read_only: bool) -> tuple[str, dict[str, Any]]:
        """A new token: its text (shown once, never stored) and its view."""
        text, row = new_token(self._ctx, name, read_only=read_only)
        return text, token_properties(row)

    def list(self) -> list[dict[str, Any]]:
        return [token_properties(row) for row in list_tokens(self._ctx)]

    def revoke(self, name: str) -> None:
        revoke_token(self._ctx, name)

    def check(self, secret: str) -> dict[str, Any] | None:
        """The view of the live token ``secret`` is (``"Name"``, ``"ReadOnly"``, …); None
        for anything else. Synchronous, reads the database: call it off the event loop."""
        row = check_token(self._ctx, secret)
        return None if row is None else token_properties(row)
