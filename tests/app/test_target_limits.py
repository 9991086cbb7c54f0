"""The target preset and bandwidth caps as the façade reads them from requests: checked
once, stored on a batch's target, and turned into what a job opens."""

from __future__ import annotations

import pytest

from mailferry.app import TargetRequest
from mailferry.app.targets import batch_target, target_spec
from mailferry.engine.special_folders import SpecialUse
from mailferry.errors import InvalidSetting
from mailferry.service.jobs.target_limits import with_target_limits
from mailferry.service.migration_spec import TargetSpec
from mailferry.stores.bandwidth import Bandwidth


def test_a_batch_target_keeps_its_preset_and_caps_and_a_job_gets_them() -> None:
    request = TargetRequest(
        "imaps://outlook.example", admin_user="admin", preset="M365",
        max_bytes_per_second=262_144, endpoint_max_bytes_per_second=1_048_576,
    )  # fmt: skip
    settings = batch_target(request, None)
    assert (settings.preset, settings.max_bytes_per_second) == ("m365", 262_144)
    assert settings.endpoint_max_bytes_per_second == 1_048_576
    assert settings.describe() == "imap://outlook.example:993"  # mailbox keys unchanged
    spec = with_target_limits(TargetSpec(), settings)
    assert spec.bandwidth == Bandwidth(262_144, 1_048_576)
    layout = spec.layout
    assert layout is not None and layout.special_folders[SpecialUse.TRASH] == "Deleted Items"
    plain = batch_target(TargetRequest("imaps://outlook.example", admin_user="admin"), None)
    assert plain.preset is None and with_target_limits(TargetSpec(), plain) == TargetSpec()


def test_the_default_target_takes_the_requests_preset() -> None:
    default = batch_target(TargetRequest("maildir:/srv/mail"), None)
    settings = batch_target(TargetRequest(None, preset="m365"), default)
    assert settings.maildir_root == default.maildir_root and settings.preset == "m365"


def test_a_one_shot_target_and_the_refusals() -> None:
    spec = target_spec(TargetRequest("maildir:/srv/mail", max_bytes_per_second=4096), {})
    assert spec.bandwidth == Bandwidth(per_mailbox=4096) and spec.preset is None
    with pytest.raises(InvalidSetting, match="target preset 'gmail2' is not one of m365"):
        batch_target(TargetRequest("maildir:/srv/mail", preset="gmail2"), None)
    with pytest.raises(InvalidSetting, match="max bytes per second must be at least 1024"):
        target_spec(TargetRequest("maildir:/srv/mail", max_bytes_per_second=10), {})


def test_the_gmail_settings_are_checked_and_stored_only_when_asked() -> None:
    from mailferry.app.targets import with_gmail

    default = batch_target(TargetRequest("maildir:/srv/mail"), None)
    assert with_gmail(default, "auto", "one-folder") is default  # still the default target
    gmail = with_gmail(default, "gmail", "copy-each")
    assert (gmail.source_kind, gmail.gmail_labels, gmail.describe()) == (
        "gmail", "copy-each", default.describe(),
    )  # fmt: skip
    with pytest.raises(InvalidSetting) as refused:
        with_gmail(default, "yahoo", "every")
    assert refused.value.problems == [
        "SourceKind 'yahoo' is not one of auto, imap, gmail",
        "GmailLabels 'every' is not one of one-folder, copy-each",
    ]
