"""A target's preset and bandwidth caps, as requests give them (names and numbers),
checked once for every interface and turned into what the service opens."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mailferry.app.requests import TargetRequest
from mailferry.engine.target_presets import PRESETS, TargetPreset, target_preset
from mailferry.errors import InvalidSetting
from mailferry.stores.bandwidth import MIN_RATE, Bandwidth

if TYPE_CHECKING:
    from mailferry.service.migration_spec import TargetSpec
    from mailferry.state.migration_records import TargetSettings

PRESET_NAMES = tuple(PRESETS)


def limit_problems(
    preset: str | None, per_mailbox: int | None, per_endpoint: int | None
) -> list[str]:
    """What is wrong with these values (empty when they can be used)."""
    problems = []
    if preset is not None and preset.strip().lower() not in PRESETS:
        problems.append(f"target preset {preset!r} is not one of {', '.join(PRESET_NAMES)}")
    for what, value in (
        ("max bytes per second", per_mailbox),
        ("endpoint max bytes per second", per_endpoint),
    ):
        if value is not None and value < MIN_RATE:
            problems.append(f"{what} must be at least {MIN_RATE}, not {value}")
    return problems


def checked_limits(request: TargetRequest | None) -> TargetRequest | None:
    """``request`` with its preset's name normalized; ``InvalidSetting`` if unusable."""
    if request is None:
        return None
    problems = limit_problems(
        request.preset, request.max_bytes_per_second, request.endpoint_max_bytes_per_second
    )
    if problems:
        raise InvalidSetting(problems)
    return request


def preset_of(name: str | None) -> TargetPreset | None:
    return None if name is None else target_preset(name)


def bandwidth_of(per_mailbox: int | None, per_endpoint: int | None) -> Bandwidth | None:
    if per_mailbox is None and per_endpoint is None:
        return None
    return Bandwidth(per_mailbox=per_mailbox, per_endpoint=per_endpoint)


def settings_with_limits(settings: TargetSettings, request: TargetRequest | None) -> TargetSettings:
    """A batch's target with the request's preset and caps (checked) stored on it."""
    checked = checked_limits(request)
    if checked is None or not _has_limits(checked):
        return settings
    return replace(
        settings,
        preset=None if checked.preset is None else checked.preset.strip().lower(),
        max_bytes_per_second=checked.max_bytes_per_second,
        endpoint_max_bytes_per_second=checked.endpoint_max_bytes_per_second,
    )


def spec_with_limits(spec: TargetSpec, request: TargetRequest) -> TargetSpec:
    """A one-shot run's target with the request's preset and caps (checked)."""
    checked = checked_limits(request)
    if checked is None or not _has_limits(checked):
        return spec
    return replace(
        spec,
        preset=preset_of(checked.preset),
        bandwidth=bandwidth_of(checked.max_bytes_per_second, checked.endpoint_max_bytes_per_second),
    )


def _has_limits(request: TargetRequest) -> bool:
    return not (
        request.preset is None
        and request.max_bytes_per_second is None
        and request.endpoint_max_bytes_per_second is None
    )
