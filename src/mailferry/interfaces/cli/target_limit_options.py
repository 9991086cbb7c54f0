"""``--target-preset``, ``--max-bytes-per-second`` and ``--endpoint-max-bytes-per-second``:
a known target's limits and quirks, and the caps on bytes written to the target, for
``batch new`` and ``migrate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mailferry.app.target_limits import PRESET_NAMES

F = TypeVar("F", bound=Callable[..., Any])
_RATE = click.IntRange(min=1024)
_CAP = click.IntRange(min=0)


def target_limit_options(command: F) -> F:
    options = [
        click.option(
            "--target-preset",
            type=click.Choice(PRESET_NAMES, case_sensitive=False),
            help="The target's limits and folder names (m365: Microsoft 365 / Exchange "
            "Online; see docs/targets/m365.md).",
        ),
        click.option(
            "--max-bytes-per-second",
            type=_RATE,
            help="Cap on the bytes written to each target mailbox (e.g. Gmail's upload limit).",
        ),
        click.option(
            "--endpoint-max-bytes-per-second",
            type=_RATE,
            help="Cap on the bytes written to the target endpoint by all its mailboxes.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def target_limit_fields(params: dict[str, Any]) -> dict[str, Any]:
    """``preset``, ``max_bytes_per_second`` and ``endpoint_max_bytes_per_second`` for
    ``TargetRequest``."""
    preset = params.get("target_preset")
    return {
        "preset": None if preset is None else str(preset).lower(),
        "max_bytes_per_second": params.get("max_bytes_per_second"),
        "endpoint_max_bytes_per_second": params.get("endpoint_max_bytes_per_second"),
    }


def target_change_options(command: F) -> F:
    """``batch set``'s: the preset and caps (``none`` / 0 removes them) and new OAuth2
    settings, merged into the batch's (a new mailbox's refresh token, a new secret)."""
    options = [
        click.option(
            "--target-preset",
            type=click.Choice((*PRESET_NAMES, "none"), case_sensitive=False),
            help="The target's limits and folder names (none: no preset).",
        ),
        click.option("--max-bytes-per-second", type=_CAP, help="0: no cap per mailbox."),
        click.option("--endpoint-max-bytes-per-second", type=_CAP, help="0: no endpoint cap."),
        click.option(
            "--oauth-setting",
            "oauth_setting",
            multiple=True,
            metavar="KEY=VALUE",
            help="A provider setting to change (repeat; secrets only in the file).",
        ),
        click.option(
            "--oauth-settings-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A JSON object of settings merged into the batch's (refresh_tokens by mailbox).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
