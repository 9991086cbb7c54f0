"""Console administrators as a use case: new, list, remove, check a password.

Views (``admin_properties``) never contain the hash. A failed check costs the same
whether or not the name exists (a dummy hash is checked), so timing tells no names.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mailferry.errors import AlreadyExists, InvalidSetting, NotFound, StateConflict
from mailferry.service.admins.passwords import hash_password, password_matches
from mailferry.service.context import ServiceContext
from mailferry.service.properties import iso_utc
from mailferry.state.admin_rows import ConsoleAdmin

MAX_NAME = 100
MIN_PASSWORD = 12
_DUMMY = hash_password("not a password of anyone's")


def new_admin(ctx: ServiceContext, name: str, password: str) -> ConsoleAdmin:
    name = _checked_name(name)
    if len(password) < MIN_PASSWORD:
        raise InvalidSetting([f"the password must have at least {MIN_PASSWORD} characters"])
    if ctx.store.admin(name) is not None:
        raise AlreadyExists("administrator", name)
    try:
        return ctx.store.add_admin(name, hash_password(password), ctx.now())
    except StateConflict:  # made by another process meanwhile
        raise AlreadyExists("administrator", name) from None


def list_admins(ctx: ServiceContext) -> list[ConsoleAdmin]:
    return ctx.store.admins()


def remove_admin(ctx: ServiceContext, name: str) -> None:
    if not ctx.store.remove_admin(name):
        raise NotFound("administrator", name)


def check_admin(ctx: ServiceContext, name: str, password: str) -> ConsoleAdmin | None:
    """The administrator if ``password`` is theirs (its last sign-in recorded); else None."""
    found = ctx.store.admin(name) if name.strip() else None
    if found is None:
        password_matches(password, _DUMMY)
        return None
    if not password_matches(password, found.password_hash):
        return None
    now = ctx.now()
    ctx.store.touch_admin(found.id, now)
    return dataclasses.replace(found, last_signin_at=now)


def admin_properties(a: ConsoleAdmin) -> dict[str, Any]:
    return {
        "Name": a.name,
        "WhenCreated": iso_utc(a.created_at),
        "LastSignInTime": iso_utc(a.last_signin_at),
    }


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() or not c.isprintable() for c in name):
        raise InvalidSetting(
            [f"administrator name {name!r}: 1-{MAX_NAME} printable characters, no spaces"]
        )
    return name
