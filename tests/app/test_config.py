"""Get-/Set-MigrationConfig through the façade: values stored in the database over the
environment's, taken back with None, MaxNumberOfBatches enforced, and another process
(a new façade on the same database, as ``mailferry serve`` is) sees them."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from mailferry.app import BatchRequest, EndpointRequest, Mailferry
from mailferry.errors import InvalidSetting, LimitReached
from mailferry.service.config import load_stored
from tests.service.service_support import users_csv


@pytest.fixture
def app(app: Mailferry) -> Mailferry:
    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    return app


def _csv(n: int) -> bytes:
    return users_csv([(f"u{n}@contoso.example", f"u{n}", "pw")])


def test_set_get_and_take_back(app: Mailferry, db_url: str, env: dict[str, str]) -> None:
    before = app.get_config()
    assert before["IncrementalSyncIntervalHours"] == 24 and before["SetByAdministrator"] == []
    after = app.set_config({"IncrementalSyncIntervalHours": 6, "StopSyncedAfterDays": 0})
    assert (after["IncrementalSyncIntervalHours"], after["StopSyncedAfterDays"]) == (6, 0)
    assert after["SetByAdministrator"] == ["IncrementalSyncIntervalHours", "StopSyncedAfterDays"]
    ctx = app._ctx
    assert ctx.settings.incremental_interval == dt.timedelta(hours=6)
    assert ctx.settings.stop_synced_after is None  # 0 days: never
    with Mailferry.open(db_url, env) as other:  # another process reads the database
        assert other.get_config()["IncrementalSyncIntervalHours"] == 6
    back = app.set_config({"IncrementalSyncIntervalHours": None})
    assert back["IncrementalSyncIntervalHours"] == 24
    assert back["SetByAdministrator"] == ["StopSyncedAfterDays"]
    with pytest.raises(InvalidSetting) as refused:
        app.set_config({"ConnectionsPerMailbox": 0, "Colour": 3})
    assert refused.value.problems == [
        "Colour is not a MigrationConfig setting",
        "ConnectionsPerMailbox must be from 1 to 1e+06, not 0",
    ]


def test_max_number_of_batches(app: Mailferry) -> None:
    app.new_batch(BatchRequest("B1", "E1", _csv(1)))
    app.set_config({"MaxNumberOfBatches": 2})
    app.new_batch(BatchRequest("B2", "E1", _csv(2)))
    with pytest.raises(LimitReached, match="MaxNumberOfBatches is 2 and 2 batches exist"):
        app.new_batch(BatchRequest("B3", "E1", _csv(3)))
    app.set_config({"MaxNumberOfBatches": None})
    assert app.new_batch(BatchRequest("B3", "E1", _csv(3)))["Name"] == "B3"


def test_a_running_service_picks_changes_up(
    app: Mailferry, db_url: str, env: dict[str, str]
) -> None:
    with Mailferry.open(db_url, env) as other:
        ctx = other._ctx
        assert ctx.settings.report_interval == dt.timedelta(hours=24)
        app.set_config({"ReportIntervalHours": 2})
        load_stored(ctx)  # what each scheduler pass does
        assert ctx.settings.report_interval == dt.timedelta(hours=2)
