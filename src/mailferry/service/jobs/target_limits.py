"""A batch's stored target preset and bandwidth caps, onto the target a job opens."""

from __future__ import annotations

from dataclasses import replace

from mailferry.engine.target_presets import target_preset
from mailferry.service.migration_spec import TargetSpec
from mailferry.state.migration_records import TargetSettings
from mailferry.stores.bandwidth import Bandwidth


def with_target_limits(spec: TargetSpec, settings: TargetSettings) -> TargetSpec:
    """``spec`` with the preset and caps of the batch's ``settings`` (checked when the
    batch was made), or ``spec`` itself when it has none."""
    per_mailbox = settings.max_bytes_per_second
    per_endpoint = settings.endpoint_max_bytes_per_second
    if settings.preset is None and per_mailbox is None and per_endpoint is None:
        return spec
    capped = per_mailbox is not None or per_endpoint is not None
    return replace(
        spec,
        preset=None if settings.preset is None else target_preset(settings.preset),
        bandwidth=Bandwidth(per_mailbox, per_endpoint) if capped else None,
    )
