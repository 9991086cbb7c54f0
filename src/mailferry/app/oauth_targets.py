"""An xoauth2 target's renewing provider, from a request's settings and the environment.

``--oauth-provider entra|google|refresh-token`` (the API's ``OAuthProvider``) names the
provider; its settings come from the request (``TargetRequest.oauth_settings``: the
CLI's ``--oauth-setting`` and ``--oauth-settings-file``, the API's ``OAuthSettings``),
and each one not given from ``MAILFERRY_OAUTH_<KEY>`` (``MAILFERRY_OAUTH_CLIENT_SECRET``,
``MAILFERRY_OAUTH_REFRESH_TOKENS``…). A batch keeps them in its vault secret, the files
of secrets read in (the service may run where they are not); a one-shot run makes its
provider from them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mailferry.app.requests import TargetRequest
from mailferry.errors import InvalidSetting

if TYPE_CHECKING:
    from mailferry.stores.logins import XOAuth2

OAUTH_ENV_PREFIX = "MAILFERRY_OAUTH_"
PROVIDER_KINDS = ("entra", "google", "refresh-token")  # stores.oauth.settings's, kept light
SECRET_KEYS = frozenset(
    {"client_secret", "private_key_pem", "private_key_passphrase", "service_account_json",
     "refresh_tokens"}
)  # fmt: skip
"""Settings that are secrets: never a command-line value (``stores.oauth.settings``)."""


def oauth_values(
    kind: str, request: TargetRequest | None, env: Mapping[str, str]
) -> dict[str, Any]:
    """The provider's settings: the request's, then the environment's for the rest."""
    from mailferry.stores.oauth.settings import setting_keys

    if kind not in PROVIDER_KINDS:
        raise InvalidSetting([f"--oauth-provider {kind!r}: expected {', '.join(PROVIDER_KINDS)}"])
    given = dict(request.oauth_settings or {}) if request is not None else {}
    for key in sorted(setting_keys(kind) - set(given)):
        value = env.get(OAUTH_ENV_PREFIX + key.upper())
        if value:
            given[key] = value
    return given


def batch_oauth_secret(kind: str, request: TargetRequest | None, env: Mapping[str, str]) -> str:
    """What the batch's vault keeps: the checked settings, files of secrets read in."""
    from mailferry.service.jobs.oauth_logins import vault_payload
    from mailferry.stores.oauth.settings import inline_files, oauth_settings

    values = inline_files(kind, oauth_values(kind, request, env))
    oauth_settings(kind, values)  # every problem named now, not at the first job
    return vault_payload(kind, values)


def oauth_login(kind: str, request: TargetRequest, env: Mapping[str, str]) -> XOAuth2:
    """A one-shot run's xoauth2 login with its renewing provider; refresh tokens the
    server rotates go back to the settings file, when there is one."""
    from pathlib import Path

    from mailferry.stores.logins import XOAuth2
    from mailferry.stores.oauth.configured import ConfiguredTokenProvider
    from mailferry.stores.oauth.token_file import RefreshTokensFile

    path = request.oauth_settings_file
    rotate = RefreshTokensFile(Path(path).resolve()) if path else None
    values = oauth_values(kind, request, env)
    return XOAuth2(ConfiguredTokenProvider(kind, values, on_rotate=rotate))
