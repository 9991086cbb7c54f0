"""The cmdlet reference page (``docs/reference/cmdlets.md``), made from the code: every
Exchange cmdlet name mailferry accepts, its parameters, the native command and option
each becomes, and that option's help text. ``tests/interfaces/test_cmdlet_reference.py``
fails when the page is stale or a parameter has no words.

Regenerate: ``python -m mailferry.interfaces.cli.cmdlet_reference > docs/reference/cmdlets.md``
"""

from __future__ import annotations

import click

from mailferry.interfaces.cli.cmdlet_parse import Kind, Param
from mailferry.interfaces.cli.cmdlets import CMDLETS, Cmdlet
from mailferry.interfaces.cli.main import cli

TRANSLATED = {
    "Identity": "the record's name or address (the first bare word binds to it; a record "
    "piped in supplies it, see Pipelines)",
    "Imap": "accepted for Exchange's scripts (mailferry has only IMAP endpoints)",
    "SyncNow": "Set-MigrationBatch / Set-MigrationUser -SyncNow: an incremental sync now "
    "(batch sync-now / user sync-now)",
    "AddUsers": "with -CSVData: add the CSV's users to the batch (batch add-users)",
    "EmailAddress": "the user's address (as -Identity)",
    "Type": "only IMAP (mailferry has no other endpoint type)",
    "Endpoint": "test this endpoint's own settings (test-server --endpoint)",
    "CSVData": "the users CSV: with -AddUsers, batch add-users --csv",
    "DiagnosticInfo": "any of Exchange's values (showtimeline, verbose…): adds DiagnosticInfo "
    "(batch get --diagnostic-info)",
    "AllowUnknownColumnsInCsv": "with -AddUsers: accept columns mailferry does not know",
    "ResultSize": "a number (at most that many records) or Unlimited (every match, also the "
    "default here; Exchange's is 1000)",
}
"""Parameters a cmdlet's translation handles itself rather than passing to one option."""

HEADER = """# Exchange cmdlet reference

mailferry accepts the Exchange Online cmdlet names below as its first argument
(`mailferry New-MigrationBatch -Name B …`) and runs the native command shown. This page
is generated from the code (`mailferry/interfaces/cli/cmdlet_reference.py`); a test
fails when it is stale.

- **Switches** take no value (`-AutoStart`), or `-Switch:$true` / `-Switch:$false`
  quoted for bash (`'-AutoStart:$false'`). `-Confirm:$false` is accepted everywhere;
  `-WhatIf` is refused (nothing can be previewed).
- **Errors** name the parameter as typed (`-CSVData`), never the native option.
- **Pipelines**: when standard output is a pipe, cmdlets that output records write JSON
  lines, which `Format-List` / `Format-Table` print, and which the next cmdlet reads:
  `mailferry Get-MigrationUser -BatchId B | mailferry Get-MigrationUserStatistics`
  runs the second once per record, with its `Identity`.
- **-Status** of Get-MigrationUser takes mailferry's statuses and all 21 of Exchange's
  (IncrementalSynced, CompletionSynced, CompletedWithWarnings, Provisioning, …; see
  `mailferry/values/exchange_statuses.py` for how they map).
"""


def render() -> str:
    lines = [HEADER]
    for cmdlet in sorted(CMDLETS.values(), key=lambda c: (c.name.split("-", 1)[1], c.name)):
        lines += _cmdlet(cmdlet)
    return "\n".join(lines).rstrip() + "\n"


def _cmdlet(cmdlet: Cmdlet) -> list[str]:
    native = _native_command(cmdlet.native)
    lines = [f"## {cmdlet.name}", "", f"Runs `mailferry {' '.join(cmdlet.native)}`: "
             f"{_first_line(native.help)}", ""]  # fmt: skip
    if cmdlet.required:
        lines += ["Required: " + ", ".join(f"`-{n}`" for n in cmdlet.required) + ".", ""]
    if cmdlet.params:
        lines += ["| Parameter | Kind | Native | What it does |", "|---|---|---|---|"]
        lines += [_param_row(param, native) for param in cmdlet.params]
        lines.append("")
    return lines


def _param_row(param: Param, native: click.Command) -> str:
    kind = {Kind.SWITCH: "switch", Kind.BOOL: "$true/$false", Kind.LIST: "list",
            Kind.CSV: "file"}.get(param.kind, "value")  # fmt: skip
    option, words = param.option or "", describe(param, native)
    return f"| `-{param.name}` | {kind} | {f'`{option}`' if option else '—'} | {words} |"


def describe(param: Param, native: click.Command) -> str:
    """The parameter's words: its native option's help, else the translation's own."""
    if param.option is not None:
        for option in native.params:
            if param.option in getattr(option, "opts", ()) or param.option in getattr(
                option, "secondary_opts", ()
            ):
                text = getattr(option, "help", None)
                if text:
                    return _first_line(text).replace("|", "\\|")
    return TRANSLATED.get(param.name, "")


def _native_command(words: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    context = click.Context(cli)
    for word in words:
        assert isinstance(command, click.Group)
        found = command.get_command(context, word)
        assert found is not None, words
        command = found
    return command


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


if __name__ == "__main__":
    print(render(), end="")
