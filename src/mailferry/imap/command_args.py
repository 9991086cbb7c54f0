"""Argument builders for the commands mailferry sends.

Every ``*_args`` function returns ``tuple[Arg, ...]`` to splat into
``CommandEncoder.encode(tag, "COMMAND", *args)``; ``fetch_items`` returns one
``Raw`` argument; the SASL helpers return the base64 initial response text.
Flags are given as strings (``"\\\\Seen"``, ``"$Forwarded"``) and checked as atoms.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal as LiteralType

from mailferry.errors import LocalProtocolError
from mailferry.imap import mutf7
from mailferry.imap.command_values import (
    AppendMessage,
    Arg,
    Atom,
    Literal,
    Mailbox,
    Raw,
    imap_datetime,
    is_atom_char,
    is_quotable,
    quote,
)
from mailferry.imap.sequence_set import MAX_NUMBER, format_sequence_set

_SEQUENCE_SET_CHARS = frozenset("0123456789:,*")
#: RFC 2971 limits on ID parameters.
_ID_MAX_PAIRS, _ID_MAX_FIELD, _ID_MAX_VALUE = 30, 30, 1024


def _sequence_set(uids: Iterable[int] | str) -> Raw:
    if isinstance(uids, str):
        if not uids or not set(uids) <= _SEQUENCE_SET_CHARS:
            raise LocalProtocolError(f"not a sequence set: {uids!r}")
        return Raw(uids.encode("ascii"))
    return Raw(format_sequence_set(uids).encode("ascii"))


def _flags(flags: Iterable[str]) -> list[Arg]:
    return [Atom(flag) for flag in flags]


def _atoms(names: Iterable[str]) -> list[Arg]:
    return [Atom(name) for name in names]


def _positive(what: str, value: int, maximum: int = 2**63 - 1) -> int:
    if isinstance(value, bool) or not 1 <= value <= maximum:
        raise LocalProtocolError(f"{what} must be in 1..{maximum}, not {value!r}")
    return value


def append_args(mailbox: str, messages: Sequence[AppendMessage]) -> tuple[Arg, ...]:
    """APPEND ``mailbox [flags] [date] literal ...``; several messages need MULTIAPPEND.

    Each message's flags and date go as one pre-rendered ``Raw`` (the same bytes the
    encoder writes for a flag list of atoms and a date), and each distinct flag list
    is checked and rendered once: the copy path appends 10,000s of messages with a
    handful of flag lists, and the generic per-value encoding was a tenth of its CPU.
    """
    if not messages:
        raise LocalProtocolError("APPEND needs at least one message")
    args: list[Arg] = [Mailbox(mailbox)]
    for message in messages:
        flags = _flag_list(message.flags) if message.flags else b""
        if message.internaldate is not None:
            date = quote(imap_datetime(message.internaldate).encode("ascii"))
            args.append(Raw(flags + b" " + date if flags else date))
        elif flags:
            args.append(Raw(flags))
        args.append(Literal(message.data))
    return tuple(args)


_FLAG_LISTS: dict[tuple[str, ...], bytes] = {}
_FLAG_LISTS_MAX = 4096


def _flag_list(flags: tuple[str, ...]) -> bytes:
    """``(flag flag ...)``, each flag checked as an ``Atom``."""
    found = _FLAG_LISTS.get(flags)
    if found is None:
        if len(_FLAG_LISTS) >= _FLAG_LISTS_MAX:
            _FLAG_LISTS.clear()
        checked = [Atom(flag).text for flag in flags]
        found = _FLAG_LISTS[flags] = b"(" + " ".join(checked).encode("ascii") + b")"
    return found


def batch_for_multiappend(
    messages: Iterable[AppendMessage], *, max_count: int = 50, max_bytes: int = 16 * 1024 * 1024
) -> Iterator[list[AppendMessage]]:
    """Consecutive batches of at most ``max_count`` messages and ``max_bytes`` bytes.

    A message larger than ``max_bytes`` forms a batch of its own.
    """
    _positive("max_count", max_count)
    _positive("max_bytes", max_bytes)
    batch: list[AppendMessage] = []
    total = 0
    for message in messages:
        if batch and (len(batch) >= max_count or total + message.size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(message)
        total += message.size
    if batch:
        yield batch


def fetch_items(*items: str) -> Raw:
    """``fetch_items("UID", "BODY.PEEK[]")`` -> ``Raw(b"(UID BODY.PEEK[])")``."""
    if not items:
        raise LocalProtocolError("FETCH needs at least one item")
    for item in items:
        if not item or not item.isascii() or not item.isprintable() or item != item.strip():
            raise LocalProtocolError(f"not a fetch item: {item!r}")
    return Raw(("(" + " ".join(items) + ")").encode("ascii"))


def uid_fetch_args(
    uids: Iterable[int] | str,
    items: Raw,
    *,
    changedsince: int | None = None,
    vanished: bool = False,
) -> tuple[Arg, ...]:
    """UID FETCH with CONDSTORE ``(CHANGEDSINCE n)`` or QRESYNC ``(CHANGEDSINCE n VANISHED)``."""
    args: list[Arg] = [_sequence_set(uids), items]
    if changedsince is not None:
        modifiers: list[Arg] = [Atom("CHANGEDSINCE"), _positive("CHANGEDSINCE", changedsince)]
        if vanished:
            modifiers.append(Atom("VANISHED"))
        args.append(modifiers)
    elif vanished:
        raise LocalProtocolError("VANISHED requires CHANGEDSINCE (RFC 7162)")
    return tuple(args)


def uid_store_args(
    uids: Iterable[int] | str,
    mode: LiteralType["+", "-", ""],
    flags: Sequence[str],
    *,
    silent: bool = True,
    unchangedsince: int | None = None,
) -> tuple[Arg, ...]:
    """UID STORE ``uids [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] (flags)``."""
    if mode not in ("+", "-", ""):
        raise LocalProtocolError(f"STORE mode must be '+', '-' or '', not {mode!r}")
    args: list[Arg] = [_sequence_set(uids)]
    if unchangedsince is not None:
        if isinstance(unchangedsince, bool) or not 0 <= unchangedsince <= 2**63 - 1:
            raise LocalProtocolError(f"UNCHANGEDSINCE out of range: {unchangedsince!r}")
        args.append([Atom("UNCHANGEDSINCE"), unchangedsince])
    args.append(Atom(f"{mode}FLAGS{'.SILENT' if silent else ''}"))
    args.append(_flags(flags))
    return tuple(args)


def uid_search_args(
    criteria: str | Sequence[Arg],
    *,
    esearch_return: Sequence[str] | None = None,
    charset: str | None = None,
) -> tuple[Arg, ...]:
    """UID SEARCH ``[RETURN (opts)] [CHARSET cs] criteria``.

    A ``str`` is pre-formatted criteria sent as is (7-bit, one line); a
    sequence is a list of arguments (8-bit strings there need ``charset``).
    """
    args: list[Arg] = []
    if esearch_return is not None:
        args += [Atom("RETURN"), _atoms(esearch_return)]
    if charset is not None:
        args += [Atom("CHARSET"), charset]
    if isinstance(criteria, str):
        if not criteria or not is_quotable(criteria.encode("utf-8")):
            raise LocalProtocolError(f"criteria text must be 7-bit, one line: {criteria!r}")
        args.append(Raw(criteria.encode("ascii")))
    else:
        if not criteria:
            raise LocalProtocolError("SEARCH needs at least one criterion")
        args += criteria
    return tuple(args)


@dataclass(frozen=True)
class QresyncParams:
    """What we knew of a mailbox: ``(QRESYNC (uidvalidity modseq [known-uids]))``."""

    uidvalidity: int
    modseq: int
    known_uids: Sequence[int] | None = None

    def __post_init__(self) -> None:
        _positive("UIDVALIDITY", self.uidvalidity, MAX_NUMBER)
        _positive("mod-sequence", self.modseq)
        if self.known_uids is not None:
            object.__setattr__(self, "known_uids", tuple(self.known_uids))


def select_args(
    mailbox: str, *, condstore: bool = False, qresync: QresyncParams | None = None
) -> tuple[Arg, ...]:
    """SELECT/EXAMINE ``mailbox [(CONDSTORE)|(QRESYNC (...))]`` (QRESYNC implies CONDSTORE)."""
    if qresync is not None:
        params: list[Arg] = [qresync.uidvalidity, qresync.modseq]
        if qresync.known_uids:
            params.append(_sequence_set(qresync.known_uids))
        return (Mailbox(mailbox), [Atom("QRESYNC"), params])
    if condstore:
        return (Mailbox(mailbox), [Atom("CONDSTORE")])
    return (Mailbox(mailbox),)


def status_args(mailbox: str, items: Sequence[str]) -> tuple[Arg, ...]:
    """STATUS ``mailbox (MESSAGES UIDNEXT ...)``."""
    if not items:
        raise LocalProtocolError("STATUS needs at least one item")
    return (Mailbox(mailbox), _atoms(items))


def _list_mailbox(pattern: str) -> Raw:
    """A ``list-mailbox``: like an astring, but ``%``/``*`` (and ``]``) may stay bare."""
    data = mutf7.encode(pattern)
    if data and all(is_atom_char(b) or b in b"%*]" for b in data) and data.upper() != b"NIL":
        return Raw(data)
    return Raw(quote(data))  # modified UTF-7 is printable 7-bit, so always quotable


def list_args(
    reference: str,
    pattern: str,
    *,
    return_special_use: bool = False,
    return_status: Sequence[str] | None = None,
) -> tuple[Arg, ...]:
    """LIST ``reference pattern [RETURN (SPECIAL-USE STATUS (items))]`` (RFC 5258/6154/5819)."""
    args: list[Arg] = [Mailbox(reference), _list_mailbox(pattern)]
    options: list[Arg] = []
    if return_special_use:
        options.append(Atom("SPECIAL-USE"))
    if return_status is not None:
        if not return_status:
            raise LocalProtocolError("RETURN STATUS needs at least one item")
        options += [Atom("STATUS"), _atoms(return_status)]
    if options:
        args += [Atom("RETURN"), options]
    return tuple(args)


def enable_args(*capabilities: str) -> tuple[Arg, ...]:
    """ENABLE ``CONDSTORE QRESYNC ...``."""
    if not capabilities:
        raise LocalProtocolError("ENABLE needs at least one capability")
    return tuple(_atoms(capabilities))


def _string(text: str) -> Arg:
    """A ``string`` (never an atom): quoted when possible, else a literal."""
    data = text.encode("utf-8")
    return Raw(quote(data)) if is_quotable(data) else Literal(data)


def id_args(params: Mapping[str, str] | None) -> tuple[Arg, ...]:
    """ID ``NIL`` or ``("name" "mailferry" ...)`` within RFC 2971 limits."""
    if params is None:
        return (Raw(b"NIL"),)
    if len(params) > _ID_MAX_PAIRS:
        raise LocalProtocolError(f"ID allows at most {_ID_MAX_PAIRS} pairs")
    pairs: list[Arg] = []
    for field, value in params.items():
        if len(field.encode("utf-8")) > _ID_MAX_FIELD or len(value.encode()) > _ID_MAX_VALUE:
            raise LocalProtocolError(f"ID field or value too long: {field!r}")
        pairs += [_string(field), _string(value)]
    return (pairs,)


def _b64(data: str) -> str:
    return base64.b64encode(data.encode("utf-8")).decode("ascii")


def sasl_plain_initial(authcid: str, password: str, authzid: str = "") -> str:
    """SASL PLAIN (RFC 4616) initial response: base64 of ``authzid NUL authcid NUL password``."""
    if any("\0" in part for part in (authcid, password, authzid)):
        raise LocalProtocolError("SASL PLAIN values cannot contain NUL")
    return _b64(f"{authzid}\0{authcid}\0{password}")


def xoauth2_initial(user: str, token: str) -> str:
    """XOAUTH2 initial response: base64 of ``user=U^Aauth=Bearer T^A^A``."""
    if any("\x01" in part for part in (user, token)):
        raise LocalProtocolError("XOAUTH2 values cannot contain ^A")
    return _b64(f"user={user}\x01auth=Bearer {token}\x01\x01")
