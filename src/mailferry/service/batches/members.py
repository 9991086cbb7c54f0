"""Migration users of a batch: their rows (password encrypted) and their engine key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailferry.service.context import ServiceContext
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.service.users_csv.values import address_key
from mailferry.state.migration_records import Endpoint, TargetSettings


def user_rows(
    ctx: ServiceContext,
    endpoint: Endpoint,
    target: TargetSettings,
    users: Sequence[MigrationUserRow],
) -> list[dict[str, Any]]:
    # Imported here: the sessions' module loads the stores and the engine, which listings
    # (``batch get``) never need.
    from mailferry.service.migration_spec import user_mailbox_key

    rows = []
    for user in users:
        rows.append(
            {
                "row": user.row,
                "email_address": user.email_address,
                "email_key": address_key(user.email_address),
                "user_name": user.user_name,
                "user_root": user.user_root,
                "target_user_name": user.target_user_name,
                "password_secret": ctx.vault.encrypt(user.password),
                "mailbox_key": user_mailbox_key(
                    f"imap://{endpoint.remote_server}:{endpoint.port}", target.describe(), user
                ),
            }
        )
    return rows
