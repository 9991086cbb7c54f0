"""A batch's options through the façade (``app.batch_options``): -TimeZone and the
times Microsoft's pages write, limits one-shot ``migrate`` has too, -AutoComplete,
-ReportInterval / -SkipReports, -ApproveSkippedItems and -Update. The run against real
Dovecot is in ``tests/service/test_batch_options_run.py``."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from mailferry.app import BatchChanges, BatchRequest, EndpointRequest, Mailferry
from mailferry.errors import InvalidSetting
from mailferry.service.reports.batch_report import report_interval
from mailferry.values.exchange_times import in_zone, parse_exchange_time
from tests.service.service_support import users_csv

CSV = users_csv([("ann@contoso.example", "ann", "pw-ann")])
DAY = dt.timedelta(days=1)


@pytest.fixture
def app(app: Mailferry) -> Mailferry:
    asyncio.run(app.new_endpoint(EndpointRequest("E1", "imap.example"), skip_verification=True))
    return app


def test_times_are_read_in_the_batchs_time_zone(app: Mailferry) -> None:
    local = parse_exchange_time("12/15/2026 6:00 PM")
    assert local == dt.datetime(2026, 12, 15, 18, 0)
    made = app.new_batch(BatchRequest("B", "E1", CSV, start_after=local,
                                      time_zone="Europe/Copenhagen"))  # fmt: skip
    assert made["StartAfter"] == "2026-12-15T17:00:00Z" and made["TimeZone"] == "Europe/Copenhagen"
    later = app.set_batch("B", BatchChanges(complete_after=parse_exchange_time("6/1/2027 8:00")))
    assert later["CompleteAfter"] == "2027-06-01T06:00:00Z"  # summer time: UTC+2
    utc = app.set_batch("B", BatchChanges(complete_after=dt.datetime(2027, 6, 1, 8, tzinfo=dt.UTC)))
    assert utc["CompleteAfter"] == "2027-06-01T08:00:00Z"  # a zone given wins
    with pytest.raises(InvalidSetting, match="TimeZone 'Mars/Olympus' is not a known time zone"):
        app.new_batch(BatchRequest("X", "E1", CSV, time_zone="Mars/Olympus"))
    assert in_zone(dt.datetime(2026, 1, 1), None) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_exchange_time("2026-12-15 18:00+01:00") == dt.datetime(
        2026, 12, 15, 18, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert parse_exchange_time("next tuesday") is None


def test_options_are_kept_shown_and_changed(app: Mailferry) -> None:
    made = app.new_batch(BatchRequest("B", "E1", CSV, max_message_size=1_000_000, max_items=10,
                                      include_deleted=True, auto_complete=True,
                                      report_interval_hours=12.0))  # fmt: skip
    shown = {k: made[k] for k in ("MaxMessageSize", "ItemLimit", "IncludeDeleted",
                                  "PropagateDeletions", "AutoComplete", "ReportInterval",
                                  "SkipReports")}  # fmt: skip
    assert shown == {"MaxMessageSize": 1_000_000, "ItemLimit": 10, "IncludeDeleted": True,
                     "PropagateDeletions": False, "AutoComplete": True,
                     "ReportInterval": "12:00:00", "SkipReports": False}  # fmt: skip
    changed = app.set_batch("B", BatchChanges(auto_complete=False, skip_reports=True,
                                              approve_skipped_items=True, update=True))  # fmt: skip
    assert (changed["AutoComplete"], changed["SkipReports"]) == (False, True)
    assert changed["MaxMessageSize"] == 1_000_000  # not given: unchanged
    assert changed["SkippedItemsApprovedDateTime"] is not None
    kinds = [e["Kind"] for e in app.events(limit=1000)]
    assert "batch_update_requested" in kinds
    with pytest.raises(InvalidSetting) as refused:
        app.set_batch("B", BatchChanges(max_message_size=0, report_interval_hours=-1))
    assert refused.value.problems == [
        "MaxMessageSize must be at least 1, not 0",
        "ReportInterval must be more than 0 and at most a year, not -1 h",
    ]


def test_report_interval_per_batch(app: Mailferry) -> None:
    app.new_batch(BatchRequest("Every", "E1", CSV))
    app.new_batch(BatchRequest("Half", "E1", users_csv([("b@contoso.example", "b", "pw")]),
                               report_interval_hours=12))  # fmt: skip
    app.new_batch(BatchRequest("None", "E1", users_csv([("c@contoso.example", "c", "pw")]),
                               skip_reports=True))  # fmt: skip
    store = app._ctx.store
    intervals = {}
    for name in ("Every", "Half", "None"):
        batch = store.batch(name)
        assert batch is not None
        intervals[name] = report_interval(batch, DAY)
    assert intervals == {"Every": DAY, "Half": DAY / 2, "None": dt.timedelta(0)}


def test_include_report_and_diagnostic_info(app: Mailferry) -> None:
    app.new_batch(BatchRequest("B", "E1", CSV))
    app.start_batch("B")
    app.set_batch("B", BatchChanges(update=True))
    view = app.get_batch("B", include_report=True, diagnostic=True)
    kinds = [line.split(" ")[1].rstrip(":") for line in view["Report"]]
    assert kinds[:2] == ["batch_created", "batch_started"] and "batch_update_requested" in kinds
    info = view["DiagnosticInfo"]
    assert info["UsersByStoredStatus"] == {"Queued": 1} and info["RunningJobs"] == 0
    assert info["Options"]["auto_complete"] is False and "secret" not in str(info).lower()
    assert "Report" not in app.get_batch("B")


def test_locale_is_checked_kept_and_changed(app: Mailferry) -> None:
    made = app.new_batch(BatchRequest("L", "E1", CSV, locale="da-DK"))
    assert made["Locale"] == "da-DK"
    assert app.set_batch("L", BatchChanges(locale="de"))["Locale"] == "de"
    with pytest.raises(InvalidSetting, match="Locale 'tlh-KL': folder names are known for da"):
        app.new_batch(BatchRequest("X", "E1", users_csv([("x@contoso.example", "x", "pw")]),
                                   locale="tlh-KL"))  # fmt: skip
