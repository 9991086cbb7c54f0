"""``--oauth-provider``, ``--oauth-setting KEY=VALUE`` and ``--oauth-settings-file``:
an xoauth2 target's renewing provider, for ``batch new`` and ``migrate``.

Secrets (``client_secret``, ``private_key_pem``, ``private_key_passphrase``,
``service_account_json``, ``refresh_tokens``) are never option values: they come from
the settings file (a JSON object of settings), the files it or ``--oauth-setting``
names (``certificate_file``, ``service_account_file``), or ``MAILFERRY_OAUTH_<KEY>``.
``migrate`` writes the refresh tokens a server rotates back into the settings file;
``batch new`` keeps every setting in the vault (the file is no longer needed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mailferry.app.oauth_targets import PROVIDER_KINDS, SECRET_KEYS

F = TypeVar("F", bound=Callable[..., Any])
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def oauth_options(command: F) -> F:
    options = [
        click.option(
            "--oauth-provider",
            type=click.Choice(PROVIDER_KINDS),
            help="Renewing OAuth2 tokens for --target-login xoauth2 (else one fixed token).",
        ),
        click.option(
            "--oauth-setting",
            "oauth_setting",
            multiple=True,
            metavar="KEY=VALUE",
            help="A provider setting (repeat): tenant, client_id, token_url, "
            "certificate_file… (secrets only in --oauth-settings-file or MAILFERRY_OAUTH_<KEY>).",
        ),
        click.option(
            "--oauth-settings-file",
            type=FILE,
            help="A JSON object of the provider's settings, secrets included.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def oauth_fields(
    provider: str | None, setting: tuple[str, ...], settings_file: Path | None
) -> dict[str, Any]:
    """``oauth_provider`` and ``oauth_settings`` for ``TargetRequest``."""
    if provider is None:
        if setting or settings_file is not None:
            raise click.UsageError(
                "--oauth-setting and --oauth-settings-file need --oauth-provider"
            )
        return {"oauth_provider": None, "oauth_settings": None, "oauth_settings_file": None}
    return {
        "oauth_provider": provider,
        "oauth_settings": oauth_setting_values(setting, settings_file),
        "oauth_settings_file": None if settings_file is None else str(settings_file),
    }


def oauth_setting_values(setting: tuple[str, ...], settings_file: Path | None) -> dict[str, Any]:
    """The settings of ``--oauth-settings-file`` and then ``--oauth-setting``."""
    values: dict[str, Any] = {}
    if settings_file is not None:
        values.update(_settings_file(settings_file))
    for item in setting:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--oauth-setting")
        if key in SECRET_KEYS:
            raise click.BadParameter(
                f"{key} is a secret: give it in --oauth-settings-file or "
                f"MAILFERRY_OAUTH_{key.upper()}, never as an option value",
                param_hint="--oauth-setting",
            )
        values[key] = value
    return values


def _settings_file(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(
            f"{path} can't be read ({exc})", param_hint="--oauth-settings-file"
        ) from None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{path} is not JSON (line {exc.lineno}: {exc.msg})", param_hint="--oauth-settings-file"
        ) from None
    if not isinstance(loaded, dict):
        raise click.BadParameter(f"{path} is not a JSON object", param_hint="--oauth-settings-file")
    return {str(k): v if isinstance(v, str | dict) else str(v) for k, v in loaded.items()}
