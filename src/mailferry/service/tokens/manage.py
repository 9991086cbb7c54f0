"""API tokens as a use case over a ServiceContext: new, list, revoke, check.

A token's text is returned once, by ``new_token``; the database keeps its hash only
(see ``token_text``). Views (``token_properties``) never contain the hash or the text.
``check_token`` records when a token was last used, to the minute: a write per request
would cost every API call an fsync.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailferry.errors import AlreadyExists, InvalidSetting, NotFound, StateConflict
from mailferry.service.context import ServiceContext
from mailferry.service.properties import iso_utc
from mailferry.service.tokens.token_text import hash_matches, lookup_id, make_token
from mailferry.state.token_rows import ApiToken

MAX_NAME = 100
LAST_USED_PRECISION = dt.timedelta(minutes=1)
"""LastUsedDateTime is rewritten only when older than this."""


def new_token(ctx: ServiceContext, name: str, *, read_only: bool) -> tuple[str, ApiToken]:
    """A new token named ``name``: its text (the only time it exists) and its row."""
    name = _checked_name(name)
    existing = ctx.store.token(name)
    if existing is not None and existing.revoked_at is None:
        raise AlreadyExists("token", name)
    made = make_token()
    values = {
        "name": name,
        "lookup_id": made.lookup_id,
        "secret_hash": made.secret_hash,
        "read_only": read_only,
        "created_at": ctx.now(),
    }
    try:
        row = ctx.store.add_token(values)
    except StateConflict:  # another process made a token of that name meanwhile
        raise AlreadyExists("token", name) from None
    return made.text, row


def list_tokens(ctx: ServiceContext) -> list[ApiToken]:
    return ctx.store.tokens()


def revoke_token(ctx: ServiceContext, name: str) -> ApiToken:
    """Revoke the token ``name`` (revoking it again changes nothing); its row after."""
    found = ctx.store.token(name)
    if found is None:
        raise NotFound("token", name)
    ctx.store.revoke_token(found.id, ctx.now())
    revoked = ctx.store.token(name)
    assert revoked is not None
    return revoked


def check_token(ctx: ServiceContext, text: str) -> ApiToken | None:
    """The live token whose text this is; None if malformed, unknown, wrong or revoked."""
    lookup = lookup_id(text)
    if lookup is None:
        return None
    found = ctx.store.token_by_lookup(lookup)
    if found is None or found.revoked_at is not None:
        return None
    if not hash_matches(text, found.secret_hash):
        return None
    now = ctx.now()
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_PRECISION:
        ctx.store.touch_token(found.id, now)
    return found


def token_properties(t: ApiToken) -> dict[str, Any]:
    return {
        "Identity": t.name,
        "Name": t.name,
        "ReadOnly": t.read_only,
        "Status": "Revoked" if t.revoked_at is not None else "Active",
        "CreationDateTime": iso_utc(t.created_at),
        "LastUsedDateTime": iso_utc(t.last_used_at),
        "RevokedDateTime": iso_utc(t.revoked_at),
    }


def _checked_name(name: str) -> str:
    stripped = name.strip()
    if not stripped:
        raise InvalidSetting(["token name: must not be empty"])
    if len(stripped) > MAX_NAME:
        raise InvalidSetting([f"token name: at most {MAX_NAME} characters"])
    if not stripped.isprintable():
        raise InvalidSetting([f"token name {stripped!r}: control characters are not allowed"])
    return stripped
