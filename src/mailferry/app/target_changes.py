"""Set-MigrationBatch on a batch's target: its preset, its bandwidth caps and its OAuth2
settings (the refresh tokens of mailboxes added with ``add_users``, a renewed client
secret). The target's address, login and provider stay as they are: every mailbox key
and every stored token names them, so changing those is a new batch.

``preset="none"`` removes the preset and a cap of 0 removes that cap. OAuth2 settings
are merged into the vault's: ``refresh_tokens`` mailbox by mailbox, other keys replaced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mailferry.app.requests import TargetRequest
from mailferry.app.target_limits import limit_problems
from mailferry.errors import InvalidSetting

if TYPE_CHECKING:
    from mailferry.state.migration_records import TargetSettings

NO_PRESET = "none"


@dataclass(frozen=True)
class TargetChange:
    """What to store: the new settings and the new vault text (None: unchanged)."""

    settings: TargetSettings | None = None
    secret: str | None = None


def changed_target(
    current: TargetSettings, secret: str | None, request: TargetRequest
) -> TargetChange:
    """The batch's target after ``request``; ``InvalidSetting`` names what can't change."""
    _refuse_fixed_parts(current, request)
    return TargetChange(_with_limits(current, request), _with_oauth(current, secret, request))


def _refuse_fixed_parts(current: TargetSettings, request: TargetRequest) -> None:
    problems = []
    if request.target is not None:
        problems.append("a batch's target can't be changed (its mailboxes' state names it)")
    if request.oauth_provider not in (None, current.oauth_provider):
        problems.append("a batch's OAuth2 provider can't be changed; give its settings only")
    if problems:
        raise InvalidSetting(problems)


def _with_limits(current: TargetSettings, request: TargetRequest) -> TargetSettings | None:
    preset, per_mailbox, per_endpoint = (
        request.preset,
        request.max_bytes_per_second,
        request.endpoint_max_bytes_per_second,
    )
    if preset is None and per_mailbox is None and per_endpoint is None:
        return None
    removing = preset is not None and preset.strip().lower() == NO_PRESET
    checked = None if removing else preset
    problems = limit_problems(checked, per_mailbox or None, per_endpoint or None)
    if problems:
        raise InvalidSetting(problems)
    return replace(
        current,
        preset=current.preset if preset is None else (None if removing else preset.strip().lower()),
        max_bytes_per_second=_cap(current.max_bytes_per_second, per_mailbox),
        endpoint_max_bytes_per_second=_cap(current.endpoint_max_bytes_per_second, per_endpoint),
    )


def _cap(current: int | None, given: int | None) -> int | None:
    if given is None:
        return current
    return given or None  # 0: no cap


def _with_oauth(current: TargetSettings, secret: str | None, request: TargetRequest) -> str | None:
    if not request.oauth_settings:
        return None
    if current.login != "xoauth2" or current.oauth_provider is None or secret is None:
        raise InvalidSetting(
            ["OAuth2 settings apply only to a batch whose target logs in with xoauth2 and "
             "a renewing provider (--oauth-provider)"]
        )  # fmt: skip
    from mailferry.service.jobs.oauth_logins import (
        payload_generation,
        payload_settings,
        vault_payload,
    )
    from mailferry.stores.oauth.settings import inline_files, oauth_settings

    kind, stored = payload_settings(secret)
    merged = merged_settings(stored, inline_files(kind, request.oauth_settings))
    oauth_settings(kind, merged)  # every problem named now, not at the next job
    return vault_payload(kind, merged, payload_generation(secret) + 1)


def merged_settings(stored: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over ``stored``; ``refresh_tokens`` (an object, or its JSON text) merged
    mailbox by mailbox."""
    merged = {**stored, **given}
    old, new = _tokens(stored.get("refresh_tokens")), _tokens(given.get("refresh_tokens"))
    if old is not None and new is not None:
        merged["refresh_tokens"] = {**old, **new}
    return merged


def _tokens(value: object) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None  # left as given: oauth_settings names the problem
    return dict(value) if isinstance(value, Mapping) else None
