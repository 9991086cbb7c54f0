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

from mailferry.app import VerifyRequest
from mailferry.interfaces.cli.failures import cli_errors
from mailferry.interfaces.cli.gmail_options import gmail_options
from mailferry.interfaces.cli.migration_options import (
    folder_list,
    migration_options,
    source_request,
    target_request,
    users_csv,
)
from mailferry.interfaces.cli.verify_view import print_outcomes
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_OK, describe
from mailferry.values.sync_options import SyncOptions

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
@gmail_options
def verify(**params: Any) -> None:
    """Compare source and target folder by folder: counts, bytes, flags, dates, names."""
    from mailferry.app.oneshot import verify as run_verification

    with cli_errors():
        run = asyncio.run(run_verification(_request(params), os.environ, describe=describe))
    document = run.report()
    if params["report_path"] is not None:
        _write_report(params["report_path"], document)
    if params["output"] == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print_outcomes(Console(highlight=False), run.outcomes)
    sys.exit(EXIT_OK if run.ok else EXIT_FAILED)


def _request(params: dict[str, Any]) -> VerifyRequest:
    """Everything from the options (the façade parses the CSV and the target: exit 2)."""
    csv_data, csv_name = users_csv(params)
    return VerifyRequest(
        source=source_request(params),
        target=target_request(params),
        csv_data=csv_data,
        csv_name=csv_name,
        include_folders=folder_list(params["include_folders"]),
        exclude_folders=folder_list(params["exclude_folders"]),
        content_filter=params["content_filter"],
        max_message_size=params["max_message_size"],
        max_items=params["max_items"],
        include_deleted=params["include_deleted"],
        max_concurrent=params["max_concurrent"],
        source_kind=params["source_kind"],
        gmail_labels=params["gmail_labels"],
    )


def _write_report(path: Path, document: dict[str, object]) -> None:
    """Written 0600: the report names messages (subjects) of every user."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
