"""How ``mailferry verify`` shows its findings: Rich tables (the JSON report is the
façade's: ``mailferry.app.verify_report``).

Neither holds a secret: a user is named by address and login name, never by
password, and error words come from :func:`words.describe`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from mailferry.app.verify_report import DIFFERENCES, FAILED, MATCH, folder_status, user_status
from mailferry.interfaces.cli.safe_text import rich_text
from mailferry.values.verify_report import FolderVerification, MessageRef

if TYPE_CHECKING:
    from mailferry.app.oneshot import UserVerification

SHOWN_PER_FOLDER = 10  # differences listed under a table per folder; the JSON has all


def _date(value: dt.datetime) -> str:
    return value.isoformat()


# -- tables ------------------------------------------------------------------------


def print_outcomes(console: Console, outcomes: Sequence[UserVerification]) -> None:
    """A table per user, the differences listed under it, then a summary line."""
    for outcome in outcomes:
        _print_user(console, outcome)
    counts = {status: 0 for status in (MATCH, DIFFERENCES, FAILED)}
    for outcome in outcomes:
        counts[user_status(outcome)] += 1
    colour = "green" if counts[MATCH] == len(outcomes) else "red"
    console.print(
        f"[{colour}]{len(outcomes)} user(s): {counts[MATCH]} match, "
        f"{counts[DIFFERENCES]} with differences, {counts[FAILED]} could not be verified[/]"
    )


def _print_user(console: Console, outcome: UserVerification) -> None:
    who = rich_text(outcome.row.email_address)
    if outcome.report is None:
        console.print(f"[red]{who}: could not be verified:[/] {rich_text(outcome.error or '')}")
        return
    title = f"{who} ({user_status(outcome)})"
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("folder", overflow="fold", ratio=1)
    for name in ("source", "expected", "target", "missing", "extra"):
        table.add_column(name, justify="right", no_wrap=True)
    for name in ("flag\ndiffs", "date\ndiffs"):  # two short lines keep 80 columns usable
        table.add_column(name, justify="right")
    table.add_column("status", no_wrap=True)
    for folder in outcome.report.folders:
        table.add_row(*_row(folder))
    console.print(table)
    for folder in outcome.report.folders:
        _print_details(console, folder)
    filtered = sum(folder.filtered for folder in outcome.report.folders)
    if filtered:
        console.print(f"  {filtered} message(s) received outside the content filter: not expected")
    for skipped in outcome.report.skipped_folders:
        detail = f" ({rich_text(skipped.detail)})" if skipped.detail else ""
        console.print(f"  not migrated: {rich_text(skipped.source_name)}: {skipped.reason}{detail}")


def _row(folder: FolderVerification) -> list[str]:
    name = folder.source_folder
    if folder.target_folder != folder.source_folder:
        name = f"{name} → {folder.target_folder}"
    status = folder_status(folder)
    colour, word = {
        MATCH: ("green", "ok"),
        DIFFERENCES: ("yellow", "DIFF"),
        FAILED: ("red", "FAILED"),
    }[status]
    return [
        rich_text(name),
        str(folder.source_count),
        str(folder.expected),
        str(folder.target_count) if folder.target_exists else "none",
        str(len(folder.missing)),
        str(len(folder.unexpected)),
        str(len(folder.flag_mismatches)),
        str(len(folder.date_mismatches)),
        f"[{colour}]{word}[/]",
    ]


def _print_details(console: Console, folder: FolderVerification) -> None:
    where = rich_text(folder.source_folder)
    if folder.error is not None:
        console.print(f"  [red]{where}:[/] {rich_text(folder.error)}")
    if not folder.target_exists:
        console.print(
            f"  {where}: the target folder {rich_text(folder.target_folder)} does not exist"
        )
    lines = [
        *(f"missing on the target: source UID {_ref(m)}" for m in folder.missing),
        *(f"extra on the target: target UID {_ref(m)}" for m in folder.unexpected),
        *(
            f"flags differ: source UID {f.source_uid} / target UID {f.target_uid}: "
            f"missing {' '.join(f.missing) or '-'}, extra {' '.join(f.extra) or '-'}"
            for f in folder.flag_mismatches
        ),
        *(
            f"date differs: source UID {d.source_uid} {_date(d.source_date)} / "
            f"target UID {d.target_uid} {_date(d.target_date)}"
            for d in folder.date_mismatches
        ),
    ]
    for line in lines[:SHOWN_PER_FOLDER]:
        console.print(f"  {where}: {rich_text(line)}")
    if len(lines) > SHOWN_PER_FOLDER:
        console.print(f"  {where}: … and {len(lines) - SHOWN_PER_FOLDER} more (see --report)")


def _ref(message: MessageRef) -> str:
    subject = f" {message.subject!r}" if message.subject else ""
    return f"{message.uid}, {message.size} bytes, {_date(message.internaldate)}{subject}"
