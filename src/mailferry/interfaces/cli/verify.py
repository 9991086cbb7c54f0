"""``mailferry verify``: after a migration, compare every user's source and target.

Takes the same source, target and CSV options as ``migrate`` (and the same
folder rules, limits and content filter, which decide what should have been copied). Exit
code 0 when every folder of every user matches, 1 otherwise, 2 for bad usage.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from mailferry.engine.planner import SyncOptions
from mailferry.errors import MailferryError
from mailferry.interfaces.cli.migration_options import (
    folder_list,
    migration_options,
    source_spec,
    target_spec,
    users,
)
from mailferry.interfaces.cli.verify_view import print_outcomes, report_as_dict
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK, EXIT_USAGE, describe
from mailferry.service.oneshot.verify import UserVerification, VerifyRequest, run_verification

_DEFAULTS = SyncOptions()


@click.command("verify")
@migration_options
@click.option(
    "--max-concurrent", type=click.IntRange(1, 256), default=4, show_default=True,
    help="Users verified at the same time.",
)  # fmt: skip
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the full report as JSON to this file.",
)  # fmt: skip
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table",
    show_default=True,
)  # fmt: skip
@click.option(
    "--max-message-size", type=click.IntRange(min=0), default=_DEFAULTS.max_message_size,
    show_default=True, help="Bytes; larger messages are not expected on the target (LargeItem).",
)  # fmt: skip
@click.option(
    "--max-items", type=click.IntRange(min=0), default=_DEFAULTS.max_items, show_default=True,
    help="Items per mailbox; older ones beyond are not expected (ItemLimit).",
)  # fmt: skip
@click.option("--include-deleted", is_flag=True, help="\\Deleted messages were migrated too.")
def verify(**params: Any) -> None:
    """Compare source and target folder by folder: counts, bytes, flags, dates, names."""
    try:
        request = _request(params)
    except MailferryError as error:
        click.echo(f"Error: {describe(error)}", err=True)
        sys.exit(EXIT_USAGE)
    outcomes = asyncio.run(run_verification(request, describe=describe))
    document = report_as_dict(outcomes, request.source.describe(), request.target.describe())
    if params["report_path"] is not None:
        _write_report(params["report_path"], document)
    if params["output"] == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print_outcomes(Console(highlight=False), outcomes)
    sys.exit(EXIT_OK if _all_match(outcomes) else EXIT_FAILED)


def _request(params: dict[str, Any]) -> VerifyRequest:
    """Everything from the options; the CSV and the target are checked here (exit 2)."""
    options = SyncOptions(
        max_message_size=params["max_message_size"],
        max_items=params["max_items"],
        include_deleted=params["include_deleted"],
        received=params["content_filter"],
    )
    return VerifyRequest(
        source=source_spec(params),
        target=target_spec(params),
        users=users(params),
        include_folders=folder_list(params["include_folders"]),
        exclude_folders=folder_list(params["exclude_folders"]),
        options=options,
        max_concurrent=params["max_concurrent"],
    )


def _all_match(outcomes: list[UserVerification]) -> bool:
    return all(outcome.ok for outcome in outcomes)


def _write_report(path: Path, document: dict[str, object]) -> None:
    """Written 0600: the report names messages (subjects) of every user."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
