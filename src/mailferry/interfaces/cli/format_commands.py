"""``Format-List`` and ``Format-Table``: render the records a cmdlet-named command piped out.

In PowerShell ``Get-MigrationBatch X | Format-List Status`` passes objects down the pipe; in a
POSIX shell the cmdlet-named ``mailferry`` commands write JSON lines when piped, and these two
small commands read them back and print them the PowerShell way. Arguments are written as in
PowerShell: ``Format-List EndpointType,Port,Max*``, ``Format-List -Property Status,Error``,
``Format-Table Name,Status -AutoSize`` (``-AutoSize`` and ``-Wrap`` are accepted and ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from mailferry.interfaces.cli.output import DEFAULT_WIDTH, PropertyError, render
from mailferry.interfaces.cli.words import EXIT_OK, EXIT_USAGE

_IGNORED_SWITCHES = ("AutoSize", "Wrap", "Force", "HideTableHeaders")
_HELP = ("-?", "-h", "--help", "-help")


class FormatArgumentError(ValueError):
    """The command line of Format-List / Format-Table is not understood."""


class RecordInputError(ValueError):
    """Standard input does not hold JSON records."""


@dataclass(frozen=True)
class FormatArgs:
    """What a Format-* command line asks for."""

    properties: tuple[str, ...] = ()
    help: bool = False


def parse_format_args(argv: Sequence[str]) -> FormatArgs:
    """PowerShell-style arguments → property patterns (positional or ``-Property``)."""
    properties: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token.lower() in _HELP:
            return FormatArgs(help=True)
        if not token.startswith("-") or len(token) == 1:
            properties.append(token)
            continue
        name, colon, inline = token[1:].partition(":")
        known = _parameter(name)
        if known != "Property":
            continue  # an ignored switch such as -AutoSize
        if colon:
            properties.append(inline)
        elif index < len(argv) and not argv[index].startswith("-"):
            properties.append(argv[index])
            index += 1
        else:
            raise FormatArgumentError("-Property needs a value, e.g. -Property Status,Error")
    return FormatArgs(properties=tuple(p for p in properties if p.strip(", ")))


def _parameter(name: str) -> str:
    """Resolve a (possibly abbreviated) parameter name case-insensitively."""
    candidates = ("Property", *_IGNORED_SWITCHES)
    lowered = name.lower()
    exact = [c for c in candidates if c.lower() == lowered]
    found = exact or [c for c in candidates if lowered and c.lower().startswith(lowered)]
    if len(found) == 1:
        return found[0]
    accepted = ", ".join(f"-{c}" for c in candidates)
    if found:
        raise FormatArgumentError(f"parameter -{name} is ambiguous (accepted: {accepted})")
    raise FormatArgumentError(f"unknown parameter -{name} (accepted: {accepted})")


def parse_records(text: str) -> list[dict[str, Any]]:
    """JSON lines (or one JSON object / array of objects) → records; blank input → none."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped[0] in "[{":
        try:
            whole = json.loads(stripped)
        except json.JSONDecodeError:
            pass  # several JSON lines, or a mistake located line by line below
        else:
            return _as_records(whole if isinstance(whole, list) else [whole], "input")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise RecordInputError(f"line {number}: not valid JSON ({error.msg})") from None
        records.extend(_as_records([value], f"line {number}"))
    return records


def _as_records(values: list[Any], where: str) -> list[dict[str, Any]]:
    for value in values:
        if not isinstance(value, dict):
            kind = type(value).__name__
            raise RecordInputError(f"{where}: expected a JSON object (a record), got {kind}")
    return values


def run_format(
    command: str, fmt: str, argv: Sequence[str], stdin: TextIO, stdout: TextIO, stderr: TextIO
) -> int:
    """The whole command, with its streams passed in; returns the exit code."""
    try:
        args = parse_format_args(argv)
    except FormatArgumentError as error:
        stderr.write(f"{command}: {error}\n")
        return EXIT_USAGE
    if args.help:
        stdout.write(_usage(command))
        return EXIT_OK
    try:
        records = parse_records(stdin.read())
    except (RecordInputError, UnicodeDecodeError) as error:
        stderr.write(f"{command}: standard input: {error}\n")
        hint = f"pipe a cmdlet's records in, e.g. mailferry Get-MigrationBatch | {command}"
        stderr.write(f"{command}: {hint}\n")
        return EXIT_USAGE  # bad input, as for every command
    try:
        text = render(records, fmt, args.properties, width=_width(stdout))
    except PropertyError as error:
        stderr.write(f"{command}: {error.message}\n")
        return EXIT_USAGE
    if text:
        stdout.write(text + "\n")
    return EXIT_OK


def _width(stdout: TextIO) -> int:
    if stdout.isatty():
        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return DEFAULT_WIDTH


def _usage(command: str) -> str:
    return (
        f"usage: ... | {command} [[-Property] NAME[,NAME...]] [-AutoSize] [-Wrap]\n"
        "Reads mailferry records (JSON lines) from standard input; NAME may use * and ?.\n"
    )


def _main(command: str, fmt: str) -> None:
    try:
        code = run_format(command, fmt, sys.argv[1:], sys.stdin, sys.stdout, sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)


def format_list_main() -> None:
    """Console script ``Format-List`` (also ``format-list`` / ``fl``)."""
    _main("Format-List", "list")


def format_table_main() -> None:
    """Console script ``Format-Table`` (also ``format-table`` / ``ft``)."""
    _main("Format-Table", "table")
