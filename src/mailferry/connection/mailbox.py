"""What SELECT/EXAMINE and APPEND tell us, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from mailferry.connection.fetch_sink import FetchedMessage
from mailferry.imap.events import (
    Exists,
    FlagsResponse,
    ResponseCode,
    TaggedResponse,
    UntaggedStatus,
    Vanished,
)


@dataclass(frozen=True)
class SelectedMailbox:
    """The state of a freshly selected mailbox.

    ``highestmodseq`` is ``None`` when the server has no MODSEQ for it
    (``[NOMODSEQ]``). With QRESYNC, ``vanished`` and ``changed`` carry what
    changed since the given modseq.
    """

    name: str
    exists: int
    uidvalidity: int | None
    uidnext: int | None
    highestmodseq: int | None
    flags: tuple[str, ...]
    permanent_flags: tuple[str, ...]
    read_only: bool
    vanished: tuple[int, ...] = ()
    changed: tuple[FetchedMessage, ...] = ()

    def accepts_keyword(self, keyword: str) -> bool:
        """Whether a keyword can be stored: listed, or ``\\*`` allows new ones."""
        lowered = {flag.lower() for flag in self.permanent_flags}
        return keyword.lower() in lowered or "\\*" in lowered


@dataclass(frozen=True)
class AppendResult:
    """UIDPLUS ``[APPENDUID uidvalidity uids]``; empty when the server has no UIDPLUS."""

    uidvalidity: int | None
    uids: tuple[int, ...]


def selected_from(
    name: str, tagged: TaggedResponse, untagged: tuple[object, ...]
) -> SelectedMailbox:
    """Build ``SelectedMailbox`` from a SELECT's responses."""
    codes: dict[str, ResponseCode] = {}
    exists = 0
    flags: tuple[str, ...] = ()
    vanished: list[int] = []
    changed: list[FetchedMessage] = []
    for event in untagged:
        if isinstance(event, UntaggedStatus) and event.code is not None:
            codes[event.code.name] = event.code
        elif isinstance(event, Exists):
            exists = event.count
        elif isinstance(event, FlagsResponse):
            flags = event.flags
        elif isinstance(event, Vanished):
            vanished.extend(event.uids)
        elif isinstance(event, FetchedMessage):
            changed.append(event)
    read_only = tagged.code is not None and tagged.code.name == "READ-ONLY"
    permanent = codes.get("PERMANENTFLAGS")
    return SelectedMailbox(
        name=name,
        exists=exists,
        uidvalidity=_int_code(codes, "UIDVALIDITY"),
        uidnext=_int_code(codes, "UIDNEXT"),
        highestmodseq=None if "NOMODSEQ" in codes else _int_code(codes, "HIGHESTMODSEQ"),
        flags=flags,
        permanent_flags=permanent.value if permanent and isinstance(permanent.value, tuple) else (),
        read_only=read_only,
        vanished=tuple(vanished),
        changed=tuple(changed),
    )


def _int_code(codes: dict[str, ResponseCode], name: str) -> int | None:
    code = codes.get(name)
    return code.value if code is not None and isinstance(code.value, int) else None


def append_result(tagged: TaggedResponse) -> AppendResult:
    code = tagged.code
    if code is not None and code.name == "APPENDUID" and isinstance(code.value, tuple):
        uidvalidity, uids = code.value
        return AppendResult(int(uidvalidity), tuple(uids))
    return AppendResult(None, ())
