"""PowerShell-style parameters, as bash hands them over, parsed against a cmdlet's parameters.

Rules (PowerShell's, made pragmatic for a POSIX shell):

- parameter names are case-insensitive and may be abbreviated to a unique prefix;
  ``-Name value`` and ``-Name:value`` both work;
- switches take no value, or ``:$true`` / ``:$false``;
- ``$true`` / ``$false`` / ``true`` / ``false`` / ``1`` / ``0`` are booleans. Unquoted in bash,
  ``$true`` expands to nothing, so an empty boolean is refused with a hint rather than guessed;
- arrays (``-ExcludeFolders "Deleted Items","Junk Email"``) reach us as one word
  ``Deleted Items,Junk Email`` and are split on commas outside quotes; a word ending in a comma
  continues with the next word (``Inbox, Sent``);
- ``-CSVData ([IO.File]::ReadAllBytes("C:\\x.csv"))`` (quoted as one word) is reduced to the path;
- ``-Confirm`` is accepted everywhere and ignored; ``-WhatIf`` is refused.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import click

Value = str | bool | tuple[str, ...]

_TRUE = frozenset({"$true", "true", "1"})
_FALSE = frozenset({"$false", "false", "0"})
_HELP = frozenset({"-?", "-help", "--help", "-h"})
_READ_BYTES = re.compile(
    r"""^\(?\s*\[(?:System\.)?IO\.File\]::ReadAllBytes\(\s*(?P<q>["']?)(?P<path>.+?)(?P=q)\s*\)\s*\)?$""",
    re.IGNORECASE,
)
_GET_CONTENT = re.compile(
    r"""^\(?\s*Get-Content\s+(?:-Path\s+)?(?P<q>["']?)(?P<path>.+?)(?P=q)"""
    r"""(?:\s+-(?:Encoding\s+Byte|ReadCount\s+\d+|AsByteStream|Raw))*\s*\)?$""",
    re.IGNORECASE,
)


class CmdletUsageError(click.UsageError):
    """A cmdlet-named command line that cannot be translated (exit code 2, like click)."""

    def __init__(self, cmdlet: str, problem: str) -> None:
        super().__init__(f"{cmdlet}: {problem}")
        self.cmdlet = cmdlet
        self.problem = problem


class Kind(enum.Enum):
    """How a parameter takes its value."""

    VALUE = "value"  # -Name X
    LIST = "list"  # -ExcludeFolders a,b
    SWITCH = "switch"  # -AutoStart, -AutoStart:$false
    BOOL = "bool"  # -AllowUnknownColumnsInCsv $true
    CSV = "csv"  # -CSVData path (or a ReadAllBytes expression)


@dataclass(frozen=True)
class Param:
    """One cmdlet parameter and the native option it becomes (``None``: handled by hand)."""

    name: str
    kind: Kind = Kind.VALUE
    option: str | None = None
    negatable: bool = False  # BOOL False → --no-<option> instead of nothing


CONFIRM = Param("Confirm", Kind.SWITCH)
WHATIF = Param("WhatIf", Kind.SWITCH)


@dataclass(frozen=True)
class Call:
    """A parsed command line: values by parameter name, in the order they were typed."""

    cmdlet: str
    values: dict[str, Value] = field(default_factory=dict)
    help: bool = False

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def flag(self, name: str) -> bool:
        return self.values.get(name) is True

    def given(self) -> list[str]:
        """Names typed, minus ``-Confirm`` and switches set to ``$false``."""
        return [n for n, v in self.values.items() if n != "Confirm" and v is not False]


def parse_call(
    cmdlet: str, params: Sequence[Param], positional: str | None, argv: Sequence[str]
) -> Call:
    """Parse ``argv`` (without the cmdlet name) against ``params``."""
    table = (*params, CONFIRM, WHATIF)
    values: dict[str, Value] = {}
    tokens = list(argv)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.lower() in _HELP:
            return Call(cmdlet, values, help=True)
        if not _is_parameter(token):
            if positional is None or positional in values:
                raise CmdletUsageError(cmdlet, f"unexpected argument {token!r}{_accepted(table)}")
            values[positional] = _unquote(token)
            continue
        name, colon, inline = token[1:].partition(":")
        param = _resolve(cmdlet, name, table)
        if param is WHATIF:
            raise CmdletUsageError(
                cmdlet, "-WhatIf is not supported: mailferry cannot preview a change. "
                "Run the Get- cmdlet to see the current state, then run without -WhatIf."
            )  # fmt: skip
        if param.name in values:
            raise CmdletUsageError(cmdlet, f"parameter -{param.name} was given more than once")
        inline_value = inline if colon else None
        value, index = _take_value(cmdlet, param, inline_value, tokens, index)
        values[param.name] = value
    return Call(cmdlet, values)


def _is_parameter(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and (token[1].isalpha() or token[1] == "-")


def _resolve(cmdlet: str, name: str, table: Sequence[Param]) -> Param:
    lowered = name.lower()
    if name.startswith("-"):
        raise CmdletUsageError(
            cmdlet, f"native option -{name} can't be mixed with cmdlet parameters{_accepted(table)}"
        )
    exact = [p for p in table if p.name.lower() == lowered]
    found = exact or [p for p in table if lowered and p.name.lower().startswith(lowered)]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(f"-{p.name}" for p in found)
        raise CmdletUsageError(cmdlet, f"parameter -{name} is ambiguous: {names}")
    raise CmdletUsageError(cmdlet, f"unknown parameter -{name}{_accepted(table)}")


def _accepted(table: Sequence[Param]) -> str:
    return " (accepted: " + ", ".join(f"-{p.name}" for p in table if p is not WHATIF) + ")"


def _take_value(
    cmdlet: str, param: Param, inline: str | None, tokens: Sequence[str], index: int
) -> tuple[Value, int]:
    """The value of ``param`` and the index of the next unread token."""
    if param.kind is Kind.SWITCH:
        if inline is None:
            return True, index
        if param is CONFIRM:
            return False, index  # any value: mailferry never prompts
        return _boolean(cmdlet, param, inline), index
    if inline is None:
        if index >= len(tokens) or _is_parameter(tokens[index]):
            raise CmdletUsageError(cmdlet, _missing(param))
        inline, index = tokens[index], index + 1
    if param.kind is Kind.BOOL:
        return _boolean(cmdlet, param, inline), index
    if param.kind is Kind.LIST:
        words = [inline]
        while words[-1].rstrip().endswith(",") and index < len(tokens):
            words.append(tokens[index])
            index += 1
        items = split_list(" ".join(words))
        if not items:
            raise CmdletUsageError(cmdlet, _missing(param))
        return tuple(items), index
    text = _unquote(inline)
    if not text:
        raise CmdletUsageError(cmdlet, _missing(param))
    return (csv_path(text) if param.kind is Kind.CSV else text), index


def _missing(param: Param) -> str:
    examples = {
        Kind.VALUE: "value",
        Kind.LIST: '"Deleted Items","Junk Email"',
        Kind.BOOL: "'$true'",
        Kind.CSV: "users.csv",
        Kind.SWITCH: "",
    }
    return f"parameter -{param.name} needs a value, e.g. -{param.name} {examples[param.kind]}"


def _boolean(cmdlet: str, param: Param, text: str) -> bool:
    lowered = _unquote(text).lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    if not lowered:
        raise CmdletUsageError(
            cmdlet, f"-{param.name} has an empty value: the shell replaced $true/$false with "
            f"nothing. Quote it ('-{param.name}:$true') or write -{param.name}:true"
        )  # fmt: skip
    raise CmdletUsageError(cmdlet, f"-{param.name} takes $true or $false, not {text!r}")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def split_list(text: str) -> list[str]:
    """``a,"b, c",'d'`` → ``["a", "b, c", "d"]``; ``@(...)`` is unwrapped; blanks dropped."""
    text = text.strip()
    if text.startswith("@(") and text.endswith(")"):
        text = text[2:-1]
    items: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
            else:
                current.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return [item for item in items if item]


def csv_path(text: str) -> str:
    """The file path inside ``([System.IO.File]::ReadAllBytes("..."))``, or ``text`` itself."""
    for pattern in (_READ_BYTES, _GET_CONTENT):
        match = pattern.match(text.strip())
        if match:
            return match.group("path")
    return text
