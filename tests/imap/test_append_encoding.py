"""APPEND arguments (pre-rendered flags and dates) encode exactly as the generic
per-value encoding of the same flags, date and literal would."""

from __future__ import annotations

import datetime as dt

import pytest

from mailferry.errors import LocalProtocolError
from mailferry.imap.command_values import Arg, Atom, Literal, Mailbox
from mailferry.imap.commands import AppendMessage, CommandEncoder, append_args

_ZONE = dt.timezone(dt.timedelta(hours=-5, minutes=-30))
_NEW_YEAR = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
BATCH = [
    AppendMessage(b"Subject: a\r\n\r\nbody", ("\\Seen", "$Label1"), _NEW_YEAR),
    AppendMessage(memoryview(b"x" * 5000), (), dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=_ZONE)),
    AppendMessage(b"", ("\\Seen", "$Label1"), None),
    AppendMessage(b"y", ("\\Flagged",), dt.datetime(2021, 6, 1, tzinfo=dt.UTC)),
]  # fmt: skip


def wire(args: tuple[object, ...], capabilities: tuple[str, ...]) -> list[tuple[bytes, bool]]:
    segments = CommandEncoder(capabilities).encode("A1", "APPEND", *args)  # type: ignore[arg-type]
    return [(b"".join(bytes(p) for p in s.parts), s.wait_for_continuation) for s in segments]


def generic_args(mailbox: str, messages: list[AppendMessage]) -> tuple[Arg, ...]:
    """The plain way: a list of atoms, a datetime and a literal, each encoded on its own."""
    args: list[Arg] = [Mailbox(mailbox)]
    for message in messages:
        if message.flags:
            args.append([Atom(flag) for flag in message.flags])
        if message.internaldate is not None:
            args.append(message.internaldate)
        args.append(Literal(message.data))
    return tuple(args)


@pytest.mark.parametrize("capabilities", [(), ("LITERAL+",), ("LITERAL-",)])
def test_append_args_encode_as_the_generic_values(capabilities: tuple[str, ...]) -> None:
    for size in range(1, len(BATCH) + 1):
        batch = BATCH[:size]
        expected = wire(generic_args("Work/Ärger", batch), capabilities)
        assert wire(append_args("Work/Ärger", batch), capabilities) == expected


def test_an_illegal_flag_or_an_empty_batch_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        append_args("INBOX", [AppendMessage(b"x", ("two words",))])
    with pytest.raises(LocalProtocolError):
        append_args("INBOX", [])
