"""A batch's stored target preset, -Locale and bandwidth caps, onto the target a job
opens."""

from __future__ import annotations

from dataclasses import replace

from mailferry.engine.target_locales import localized
from mailferry.engine.target_presets import target_preset
from mailferry.service.migration_spec import TargetSpec
from mailferry.state.migration_records import TargetSettings
from mailferry.stores.bandwidth import Bandwidth


def with_target_limits(spec: TargetSpec, settings: TargetSettings) -> TargetSpec:
    """``spec`` with the preset and caps of the batch's ``settings`` (checked when the
    batch was made), or ``spec`` itself when it has none."""
    per_mailbox = settings.max_bytes_per_second
    per_endpoint = settings.endpoint_max_bytes_per_second
    chosen = (settings.preset, per_mailbox, per_endpoint, settings.locale)
    if all(value is None for value in chosen):
        return spec
    capped = per_mailbox is not None or per_endpoint is not None
    preset = None if settings.preset is None else target_preset(settings.preset)
    if settings.locale is not None:
        preset = localized(preset, settings.locale)
    return replace(
        spec, preset=preset, bandwidth=Bandwidth(per_mailbox, per_endpoint) if capped else None
    )
