"""A batch's OAuth2 provider: made once per process from the vault, shared by its jobs.

An ``xoauth2`` target with a renewing provider (``TargetSettings.oauth_provider``)
keeps the provider's settings, secrets included, in the batch's vault secret as
``{"provider": KIND, "settings": {...}}`` (``vault_payload``). Every job of the batch
that runs in this process gets the same ``ConfiguredTokenProvider``, so its cache
serves them all: a mailbox's token is asked for once per lifetime, not once per job.
A refresh token the server rotates is written back to the vault (``on_rotate``) so
that the next process, or the next run after a crash, uses the new one. Settings an
administrator changes (``batch set``) raise the payload's ``generation``: a process
makes the provider again when it sees a new one (a rotation keeps the generation, so
the cache of access tokens survives it).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from mailferry.errors import InvalidSetting
from mailferry.service.context import ServiceContext
from mailferry.state.migration_records import Batch
from mailferry.state.service_store import ServiceStore
from mailferry.stores.oauth.configured import ConfiguredTokenProvider

_Key = tuple[int, str, int]
_SHARED: weakref.WeakKeyDictionary[ServiceStore, dict[_Key, ConfiguredTokenProvider]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def vault_payload(kind: str, values: Mapping[str, Any], generation: int = 0) -> str:
    """What the vault keeps of a provider: its kind, its settings, and how many times an
    administrator changed them."""
    return json.dumps({"provider": kind, "settings": dict(values), "generation": generation})


def payload_generation(secret: str) -> int:
    """The payload's ``generation`` (0 for one written before there were any)."""
    try:
        return int(json.loads(secret).get("generation", 0))
    except (ValueError, AttributeError, TypeError):
        return 0


def payload_settings(secret: str) -> tuple[str, dict[str, Any]]:
    """The provider's kind and settings from the vault's text."""
    try:
        payload = json.loads(secret)
        return str(payload["provider"]), dict(payload["settings"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSetting(["the batch's OAuth2 settings in the vault are unreadable"]) from exc


def batch_token_provider(ctx: ServiceContext, batch: Batch, secret: str) -> ConfiguredTokenProvider:
    """The batch's provider in this process (made from ``secret`` the first time)."""
    key = (batch.id, batch.name, payload_generation(secret))
    with _LOCK:
        shared = _SHARED.setdefault(ctx.store, {})
        provider = shared.get(key)
        if provider is None:
            kind, values = payload_settings(secret)

            def rotated(address: str, token: str) -> None:
                rotate_in_vault(ctx, batch.id, address, token)

            provider = ConfiguredTokenProvider(kind, values, on_rotate=rotated)
            shared[key] = provider
        return provider


def rotate_in_vault(ctx: ServiceContext, batch_id: int, address: str, token: str) -> None:
    """Replace ``address``'s refresh token in the batch's vault secret (its key's case kept)."""
    batch = ctx.store.batch_by_id(batch_id)
    if batch is None or batch.target_secret is None:
        return  # removed meanwhile: nothing to keep
    plain = ctx.vault.decrypt(batch.target_secret)
    kind, values = payload_settings(plain)
    tokens = values.get("refresh_tokens")
    if isinstance(tokens, str):
        tokens = json.loads(tokens)
    if not isinstance(tokens, dict):
        return
    wanted = address.casefold()
    key = next((k for k in tokens if k.casefold() == wanted), address)
    tokens[key] = token
    values["refresh_tokens"] = tokens
    secret = ctx.vault.encrypt(vault_payload(kind, values, payload_generation(plain)))
    ctx.store.update_batch(batch_id, {"target_secret": secret})
