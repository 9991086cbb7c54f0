"""Migration users of a batch: their rows (password encrypted) and their engine key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.csv_import import MigrationUserRow
from mailferry.service.csv_values import address_key
from mailferry.state.migration_records import Endpoint, TargetSettings


def user_rows(
    ctx: ServiceContext,
    endpoint: Endpoint,
    target: TargetSettings,
    users: Sequence[Any],
) -> list[dict[str, Any]]:
    rows = []
    for user in users:
        assert isinstance(user, MigrationUserRow)
        rows.append(
            {
                "row": user.row,
                "email_address": user.email_address,
                "email_key": address_key(user.email_address),
                "user_name": user.user_name,
                "user_root": user.user_root,
                "password_secret": ctx.vault.encrypt(user.password),
                "mailbox_key": user_mailbox_key(endpoint, target, user),
            }
        )
    return rows


def user_mailbox_key(endpoint: Endpoint, target: TargetSettings, user: MigrationUserRow) -> str:
    """The engine's mailbox key: the same one ``migrate`` uses for the same user."""
    root = f"#{user.user_root}" if user.user_root else ""
    source = f"imap://{endpoint.remote_server}:{endpoint.port}"
    return f"{source}/{user.user_name}{root} -> {target.describe()}/{user.email_address}"
