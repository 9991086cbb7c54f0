"""PowerShell's pipeline input for the cmdlet names: records piped in supply ``-Identity``.

``mailferry Get-MigrationUser -BatchId B | mailferry Get-MigrationUserStatistics`` works
as ``Get-MigrationUser -BatchId B | Get-MigrationUserStatistics`` does in PowerShell:
the first command writes its records as JSON lines (it is piped), the second runs once
per record with that record's ``Identity``. Only when ``-Identity`` is not typed and
standard input is a pipe or a file (never a terminal); a cmdlet that takes no pipeline
input, or an empty pipe, is left to the usual "missing required parameter" error.
"""

from __future__ import annotations

import json
import os
import select
import stat
from collections.abc import Iterable, Sequence
from typing import TextIO

from mailferry.interfaces.cli.cmdlet_parse import CmdletUsageError, parse_call
from mailferry.interfaces.cli.cmdlets import CMDLETS

PIPELINE_INPUT = frozenset(
    name.lower()
    for name in (
        "Get-MigrationUserStatistics", "Set-MigrationUser", "Stop-MigrationUser",
        "Start-MigrationUser", "Remove-MigrationUser", "Start-MigrationBatch",
        "Stop-MigrationBatch", "Complete-MigrationBatch", "Remove-MigrationBatch",
        "Set-MigrationBatch", "Remove-MigrationEndpoint", "Set-MigrationEndpoint",
    )
)  # fmt: skip
"""Cmdlets whose ``-Identity`` may come down the pipe (ByPropertyName, as Exchange's).
The Get- cmdlets that list everything without ``-Identity`` are not among them: they
never wait for standard input."""
FIRST_RECORD_SECONDS = 120.0
"""How long a pipe may stay silent before its first record (or its end)."""


def wants_piped_identity(argv: Sequence[str], stdin: TextIO) -> bool:
    """A pipeline cmdlet typed without ``-Identity`` and fed by a pipe or a file."""
    if not argv or argv[0].lower() not in PIPELINE_INPUT or not _fed(stdin):
        return False
    cmdlet = CMDLETS[argv[0].lower()]
    try:
        call = parse_call(cmdlet.name, cmdlet.params, cmdlet.positional, argv[1:])
    except CmdletUsageError:
        return False  # the ordinary translation reports it
    return not call.help and "Identity" not in call.values and "EmailAddress" not in call.values


def piped_identities(stdin: TextIO, cmdlet: str) -> list[str]:
    """The ``Identity`` of every record piped in; a pipe silent for
    ``FIRST_RECORD_SECONDS`` is an error, never a hang."""
    readable, _, _ = select.select([stdin], [], [], FIRST_RECORD_SECONDS)
    if not readable:
        raise CmdletUsageError(
            cmdlet, f"no -Identity, and nothing was piped in for {FIRST_RECORD_SECONDS:.0f} s"
        )
    return identities_of(stdin, cmdlet)


def identities_of(lines: Iterable[str], cmdlet: str) -> list[str]:
    """The ``Identity`` of every JSON record (blank lines skipped)."""
    found: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise CmdletUsageError(
                cmdlet, f"line {number} piped in is not a record: pipe the output of a "
                "mailferry Get-… cmdlet (it writes JSON lines when piped)"
            ) from None  # fmt: skip
        identity = record.get("Identity") if isinstance(record, dict) else None
        if not isinstance(identity, str) or not identity:
            raise CmdletUsageError(cmdlet, f"record {number} piped in has no Identity")
        found.append(identity)
    return found


def per_identity(argv: Sequence[str], identities: Sequence[str]) -> list[list[str]]:
    """The cmdlet line once per identity (``-Identity`` added)."""
    return [[argv[0], "-Identity", identity, *argv[1:]] for identity in identities]


def _fed(stdin: TextIO) -> bool:
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False  # no real standard input (a test's replacement, a closed one)
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)
