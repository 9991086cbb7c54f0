"""``--source-kind`` and ``--gmail-labels``: how a Gmail source's labels are migrated
(``docs/targets/gmail.md``); shared by ``migrate`` and ``verify``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from mailferry.values.sync_options import GMAIL_LABEL_MODES, SOURCE_KINDS

F = TypeVar("F", bound=Callable[..., Any])


def gmail_options(command: F) -> F:
    """Add the two options (parameters ``source_kind`` and ``gmail_labels``)."""
    command = click.option(
        "--gmail-labels",
        type=click.Choice(GMAIL_LABEL_MODES),
        default="one-folder",
        show_default=True,
        help="A Gmail message in several labels: copied into its first folder only "
        "(DuplicateLabel skipped items elsewhere), or into each.",
    )(command)
    return click.option(
        "--source-kind",
        type=click.Choice(SOURCE_KINDS),
        default="auto",
        show_default=True,
        help="gmail: folders are labels (All Mail migrates as Archive, de-duplicated by "
        "X-GM-LABELS; Important and Starred are not folders); auto: when the source "
        "offers X-GM-EXT-1.",
    )(command)
