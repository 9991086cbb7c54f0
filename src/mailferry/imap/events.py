"""What the sans-IO response parser hands out: one frozen dataclass per event.

The parser (``mailferry.imap.parser.ResponseParser``) turns server bytes into
these events. Everything is decoded into plain Python values: numbers are
``int``, atoms and quoted strings are ``str`` (UTF-8 / Latin-1 safe), mailbox
names are decoded from modified UTF-7 into ``str`` (the raw wire bytes are
kept beside them), dates are timezone-aware ``datetime``.

Bodies come in one of two forms. A FETCH response whose body section literals
(``BODY[...]``, ``BODY[...]<origin>``, ``BINARY[...]``, ``RFC822``,
``RFC822.HEADER``, ``RFC822.TEXT``) total at most the parser's
``max_whole_body`` is ONE event: ``FetchResponse(seq, attributes)`` with each
such body as ``bytes`` in ``attributes`` (the common small message, no extra
events, no copy beyond the one out of the receive buffer). A larger literal is
streamed, so a 40 MB message never has to sit whole in the parser::

    FetchLiteralStart(seq, item, size)
    LiteralData(data) ...            # zero or more chunks, total == size
    FetchLiteralEnd(seq, item)
    ...                              # more literals of the same response, if any
    FetchResponse(seq, attributes)   # once the whole response has been read

and in the final ``FetchResponse.attributes`` a streamed item maps to
``StreamedLiteral(size)``. Which form a body takes depends only on the sizes
announced, never on how the bytes were chunked; the two forms carry the same
information (tests compare them after folding streamed bodies into ``bytes``).
A body section sent as a quoted string maps to ``bytes`` too; one sent as NIL
to ``None``. Attribute names are upper-case with ``.PEEK`` removed, e.g. ``UID``,
``FLAGS``, ``INTERNALDATE``, ``RFC822.SIZE``, ``MODSEQ``, ``BODY[]``,
``BODY[HEADER.FIELDS (MESSAGE-ID DATE)]``, ``BODY[]<0>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The value types a FETCH attribute can take.
FetchValue = object


@dataclass(frozen=True)
class ResponseCode:
    """A ``[CODE value]`` response code.

    ``name`` is upper-case. ``value`` is parsed for the codes we know:

    - UIDVALIDITY, UIDNEXT, UNSEEN, HIGHESTMODSEQ, APPENDLIMIT -> ``int``
    - PERMANENTFLAGS -> ``tuple[str, ...]``
    - CAPABILITY -> ``frozenset[str]`` (upper-case)
    - APPENDUID -> ``(uidvalidity: int, uids: tuple[int, ...])``
    - COPYUID -> ``(uidvalidity: int, source_uids: tuple[int, ...], target_uids: tuple[int, ...])``
    - BADCHARSET -> ``tuple[str, ...]``
    - codes without a value (ALERT, TRYCREATE, NOMODSEQ, READ-ONLY, READ-WRITE,
      OVERQUOTA, LIMIT, THROTTLED, UNAVAILABLE, AUTHENTICATIONFAILED, ...) -> ``None``
    - any other code with text -> the raw text as ``str``
    """

    name: str
    value: object = None


@dataclass(frozen=True)
class Greeting:
    """The server's first response: status is ``OK``, ``PREAUTH`` or ``BYE``."""

    status: str
    code: ResponseCode | None
    text: str


@dataclass(frozen=True)
class ContinuationRequest:
    """``+ text``: the server is ready for a literal or a SASL step."""

    text: str


@dataclass(frozen=True)
class TaggedResponse:
    """Completion of a command: status is ``OK``, ``NO`` or ``BAD``."""

    tag: str
    status: str
    code: ResponseCode | None
    text: str


@dataclass(frozen=True)
class UntaggedStatus:
    """``* OK/NO/BAD/BYE/PREAUTH [code] text`` outside the greeting."""

    status: str
    code: ResponseCode | None
    text: str


@dataclass(frozen=True)
class CapabilityResponse:
    """``* CAPABILITY ...``; capabilities upper-cased (``AUTH=PLAIN``, ``LITERAL+``)."""

    capabilities: frozenset[str]


@dataclass(frozen=True)
class ListResponse:
    """One ``* LIST`` or ``* LSUB`` line.

    ``attributes`` keep the server's spelling (``\\HasNoChildren``, ``\\Sent``);
    compare them case-insensitively. ``delimiter`` is ``None`` for NIL.
    ``name`` is decoded from modified UTF-7; ``raw_name`` is the wire form.
    """

    command: str
    attributes: tuple[str, ...]
    delimiter: str | None
    name: str
    raw_name: bytes


@dataclass(frozen=True)
class StatusResponse:
    """``* STATUS mailbox (MESSAGES n UIDNEXT n ...)``; item names upper-case."""

    mailbox: str
    raw_mailbox: bytes
    items: Mapping[str, int]


@dataclass(frozen=True)
class Exists:
    count: int


@dataclass(frozen=True)
class Recent:
    count: int


@dataclass(frozen=True)
class Expunge:
    """``* n EXPUNGE``: message sequence number ``seq`` is gone."""

    seq: int


@dataclass(frozen=True)
class FlagsResponse:
    """``* FLAGS (...)``: the flags defined in the selected mailbox."""

    flags: tuple[str, ...]


@dataclass(frozen=True)
class SearchResponse:
    """``* SEARCH n n n [(MODSEQ m)]``."""

    numbers: tuple[int, ...]
    modseq: int | None = None


@dataclass(frozen=True)
class ESearchResponse:
    """``* ESEARCH (TAG "x") UID MIN n MAX n COUNT n ALL set``.

    ``items`` maps upper-case names to ``int`` (MIN, MAX, COUNT, MODSEQ) or,
    for ALL, to the expanded ``tuple[int, ...]``.
    """

    tag: str | None
    uid: bool
    items: Mapping[str, object]


@dataclass(frozen=True)
class Vanished:
    """``* VANISHED [(EARLIER)] uid-set`` (QRESYNC), UIDs expanded."""

    earlier: bool
    uids: tuple[int, ...]


@dataclass(frozen=True)
class EnabledResponse:
    """``* ENABLED ...``; upper-case."""

    capabilities: frozenset[str]


@dataclass(frozen=True)
class Namespace:
    """One namespace: its prefix (decoded) and hierarchy delimiter."""

    prefix: str
    delimiter: str | None


@dataclass(frozen=True)
class NamespaceResponse:
    """``* NAMESPACE personal other shared``; each NIL becomes an empty tuple."""

    personal: tuple[Namespace, ...]
    other: tuple[Namespace, ...]
    shared: tuple[Namespace, ...]


@dataclass(frozen=True)
class IdResponse:
    """``* ID (...)`` or ``* ID NIL``; keys as sent."""

    params: Mapping[str, str | None] | None


@dataclass(frozen=True)
class StreamedLiteral:
    """Placeholder in ``FetchResponse.attributes`` for a body handed out in chunks."""

    size: int


@dataclass(frozen=True)
class FetchLiteralStart:
    """A body literal of ``size`` bytes for item ``item`` of message ``seq`` begins."""

    seq: int
    item: str
    size: int


@dataclass(frozen=True)
class LiteralData:
    """A chunk of the literal announced by the last ``FetchLiteralStart``."""

    data: bytes


@dataclass(frozen=True)
class FetchLiteralEnd:
    """The literal announced by the last ``FetchLiteralStart`` is complete."""

    seq: int
    item: str


@dataclass(frozen=True)
class FetchResponse:
    """A complete ``* seq FETCH (...)`` response.

    Values: ``UID``/``RFC822.SIZE``/``MODSEQ`` -> ``int``; ``FLAGS`` ->
    ``tuple[str, ...]``; ``INTERNALDATE`` -> aware ``datetime``; body sections
    -> ``bytes`` (whole), ``StreamedLiteral`` (streamed before) or ``None``;
    anything else -> the parsed
    generic value (``str``/``int``/``bytes``/``None``/nested ``tuple``).
    """

    seq: int
    attributes: Mapping[str, FetchValue] = field(default_factory=dict)

    @property
    def uid(self) -> int | None:
        value = self.attributes.get("UID")
        return value if isinstance(value, int) else None

    @property
    def flags(self) -> tuple[str, ...] | None:
        value = self.attributes.get("FLAGS")
        return value if isinstance(value, tuple) else None

    @property
    def internaldate(self) -> dt.datetime | None:
        value = self.attributes.get("INTERNALDATE")
        return value if isinstance(value, dt.datetime) else None


@dataclass(frozen=True, slots=True)
class FetchRun:
    """Consecutive simple FETCH responses with small bodies, read in one go.

    Only a parser made with ``fetch_runs=True`` hands these out. Each entry is
    ``(seq, attributes, item, body)``: ``attributes`` as in ``FetchResponse``
    but without the body, which is ``body`` (``bytes``) under the name ``item``
    (both None when the responses carry no body item). All entries of a run
    have the same attribute names, value types and ``item``; a run is never
    empty. ``responses()`` gives the ``FetchResponse`` events a parser without
    runs hands out instead.
    """

    entries: list[tuple[int, dict[str, FetchValue], str | None, bytes | None]]

    def responses(self) -> list[FetchResponse]:
        out = []
        for seq, attributes, item, body in self.entries:
            full = dict(attributes)
            if item is not None:
                full[item] = body
            out.append(FetchResponse(seq, full))
        return out


@dataclass(frozen=True)
class OtherUntagged:
    """Any untagged response we do not model (QUOTA, QUOTAROOT, METADATA...).

    ``name`` is the upper-cased response name (or ``number NAME`` kind's name),
    ``number`` the leading number if there was one, and ``values`` the
    generically parsed remainder.
    """

    name: str
    number: int | None
    values: tuple[object, ...]


Event = (
    Greeting
    | ContinuationRequest
    | TaggedResponse
    | UntaggedStatus
    | CapabilityResponse
    | ListResponse
    | StatusResponse
    | Exists
    | Recent
    | Expunge
    | FlagsResponse
    | SearchResponse
    | ESearchResponse
    | Vanished
    | EnabledResponse
    | NamespaceResponse
    | IdResponse
    | FetchLiteralStart
    | LiteralData
    | FetchLiteralEnd
    | FetchResponse
    | FetchRun
    | OtherUntagged
)
