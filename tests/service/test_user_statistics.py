"""Per-user statistics after a real sync: an Exchange-like source's non-mail folders are
reported as FolderSkipped items; the properties the CLI and reports show add up."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from mailferry.rig import CorpusSpec, DovecotServer, generate
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import user_report, user_statistics
from mailferry.service.endpoints.manage import new_endpoint
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.properties import user_statistics_properties
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    source_endpoint,
    users_csv,
)

NON_MAIL = ("Calendar", "Contacts", "Tasks", "Notes", "Journal")


def test_non_mail_folders_are_reported_as_folder_skipped(
    dovecot_source: DovecotServer, make_user: MakeUser, tmp_path: Path
) -> None:
    ctx = make_context(tmp_path)
    account = make_user("exchangeish", servers=(dovecot_source,))
    spec = CorpusSpec(seed=4, messages=6, deleted_fraction=0.0)
    dovecot_source.write_maildir(account.name, generate(spec), extra_folders=NON_MAIL)
    csv = users_csv([(address(account), account.name, account.password)])
    asyncio.run(new_endpoint(ctx, "Exchange", source_endpoint(dovecot_source)))
    batch = batches.new_batch(ctx, batches.BatchRequest("Ex", "Exchange", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))

    user, skipped = user_statistics(ctx, address(account))
    folder_skips = sorted(item.folder for item in skipped if item.kind == "FolderSkipped")
    assert folder_skips == sorted(NON_MAIL)
    stats = user_statistics_properties(user, skipped, ctx.now(), include_skipped_items=True)
    assert stats["SyncedItemCount"] == 6 == stats["TotalItemsInSourceMailboxCount"]
    # A skipped folder is listed among the SkippedItems but counts no message:
    # TotalItemsInSourceMailboxCount = SyncedItemCount + SkippedItemCount still holds.
    assert stats["SkippedItemCount"] == 0
    assert stats["PercentageComplete"] == 100
    kinds = {item["Kind"] for item in stats["SkippedItems"]}
    assert kinds == {"FolderSkipped"}
    assert stats["LastSuccessfulSyncTimestamp"] is not None
    assert stats["BytesTransferred"] > 0

    report = user_report(ctx, user)  # -IncludeReport: the user's timeline
    assert [line.split()[1].rstrip(":") for line in report] == ["job_started", "job_finished"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in report)
    assert report[0].split()[0] <= stats["LastSuccessfulSyncTimestamp"]  # started, then synced
    assert "job=Validating" in report[0] and "status=Synced" in report[1]
    assert all(address(account) not in line for line in report)  # the email is the Identity
