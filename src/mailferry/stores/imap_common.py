"""What the IMAP source and the IMAP target share: selecting, listing, Message-IDs."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace

from mailferry.connection.client import ImapClient
from mailferry.connection.fetch_sink import FetchedMessage
from mailferry.connection.mailbox import SelectedMailbox
from mailferry.errors import CommandFailed, FolderError, RemoteProtocolError, Throttled
from mailferry.imap import gmail as gmail_items
from mailferry.imap.commands import Mailbox, fetch_items, uid_fetch_args
from mailferry.imap.events import ListResponse
from mailferry.imap.sequence_set import format_sequence_set
from mailferry.stores.base import FolderListing, MessageMeta, SourceMessage
from mailferry.stores.flags import without_recent
from mailferry.stores.message_id import parse_message_id

FETCH_CHUNK = 100  # UIDs per UID FETCH of bodies
FETCH_WINDOW = 3  # UID FETCH commands in flight

META_ITEMS = ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE")
#: A body for a caller that has the listing (``SourceMailbox.fetch(listed=True)``).
BODY_ITEMS = ("UID", "RFC822.SIZE", "BODY.PEEK[]")
HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
SUMMARY_ITEM = "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM DATE MESSAGE-ID)]"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ID_CHUNK = 500
_ID_WINDOW = 4


@asynccontextmanager
async def closing_stream(
    stream: AsyncIterator[FetchedMessage],
) -> AsyncIterator[AsyncIterator[FetchedMessage]]:
    """Iterate a fetch stream and close it (its commands drain) however the block ends."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def folder_listing(response: ListResponse) -> FolderListing:
    return FolderListing(response.name, response.delimiter, response.attributes)


async def hierarchy(client: ImapClient) -> tuple[str, str]:
    """The delimiter and personal prefix of the user's folders.

    A prefixed first personal namespace (NAMESPACE, RFC 2342) gives both; the prefix
    is written ending with the delimiter (``INBOX`` → ``INBOX.``). Otherwise (no
    NAMESPACE, an empty prefix, a flat namespace) the delimiter is LIST "" "" 's and
    there is no prefix, as before targets read NAMESPACE."""
    namespace = await client.namespace()
    personal = namespace.personal[0] if namespace is not None and namespace.personal else None
    delimiter = personal.delimiter if personal is not None else None
    if personal is None or delimiter is None or len(delimiter) != 1:
        return await list_delimiter(client), ""
    parts = [part for part in personal.prefix.split(delimiter) if part]
    if not parts:
        return await list_delimiter(client), ""
    return delimiter, "".join(f"{part}{delimiter}" for part in parts)


async def list_delimiter(client: ImapClient) -> str:
    """The hierarchy delimiter LIST "" "" announces; ``/`` for a flat server."""
    result = await client.connection.command("LIST", Mailbox(""), Mailbox(""))
    for event in result.untagged:
        if isinstance(event, ListResponse) and event.delimiter:
            return event.delimiter
    return "/"  # a flat server: no hierarchy, any character is part of the name


async def select_folder(
    client: ImapClient, folder: str, *, readonly: bool, condstore: bool = False
) -> SelectedMailbox:
    """SELECT/EXAMINE; a refusal (folder gone, no rights) is a ``FolderError``."""
    try:
        return await client.select(folder, readonly=readonly, condstore=condstore)
    except Throttled:
        raise
    except CommandFailed as exc:
        raise FolderError(folder, f"cannot select: {exc.status} {exc.text}".strip()) from exc


def meta_from(message: FetchedMessage) -> MessageMeta | None:
    """A listing entry; None for a FETCH without UID (an unsolicited update)."""
    uid = message.uid
    if uid is None:
        return None
    return _meta(message, uid, message.internaldate, message.size)


def _meta(
    message: FetchedMessage, uid: int, internaldate: dt.datetime | None, size: int | None
) -> MessageMeta:
    """The meta of ``message`` (its date and size read once by the caller)."""
    return MessageMeta(
        uid=uid,
        size=size or 0,
        flags=without_recent(message.flags),
        internaldate=internaldate or _EPOCH,
        modseq=message.modseq,
    )


def message_with_body(message: FetchedMessage) -> SourceMessage | None:
    """A fetched ``BODY[]`` with its metadata; other sections are released.
    None (everything released) for a FETCH without UID or body."""
    body, uid = message.body, message.uid
    for section in message.sections.values():
        if section is not body:
            section.close()
    if body is None or uid is None:
        message.close()
        return None
    size = message.size
    meta = _meta(message, uid, message.internaldate, body.size if size is None else size)
    return SourceMessage(meta, body)


async def list_metas(
    client: ImapClient,
    uid_set: str,
    *,
    modseq: bool = False,
    changed_since: int | None = None,
    min_uid: int = 1,
    gmail: bool = False,
) -> list[MessageMeta]:
    """``UID FETCH uid_set (UID FLAGS INTERNALDATE RFC822.SIZE [MODSEQ])``, by UID;
    ``gmail`` adds X-GM-MSGID and X-GM-LABELS (``with_gmail_items``)."""
    items = (*META_ITEMS, "MODSEQ") if modseq else META_ITEMS
    if gmail:
        items = (*items, *gmail_items.LISTING_ITEMS)
    found: dict[int, MessageMeta] = {}
    stream = client.fetch_messages(uid_set, items, changedsince=changed_since)
    async with closing_stream(stream) as messages:
        async for message in messages:
            uid, date, size = message.uid, message.internaldate, message.size
            if uid is not None and uid >= min_uid and (date is not None or size is not None):
                meta = _meta(message, uid, date, size)
                found[uid] = with_gmail_items(meta, message.attributes) if gmail else meta
            message.close()
    forget_unsolicited(client)
    return [found[uid] for uid in sorted(found)]


def with_gmail_items(meta: MessageMeta, attributes: Mapping[str, object]) -> MessageMeta:
    """``meta`` with Gmail's X-GM-MSGID and X-GM-LABELS; a ``\\Starred`` label is the
    ``\\Flagged`` flag (Gmail sets both; the flag is what a target keeps)."""
    labels = gmail_items.gm_labels(attributes)
    flags = meta.flags
    if labels is not None and "\\Starred" in labels and "\\Flagged" not in flags:
        flags = (*flags, "\\Flagged")
    return replace(meta, flags=flags, gm_msgid=gmail_items.gm_msgid(attributes), gm_labels=labels)


def forget_unsolicited(client: ImapClient) -> None:
    """Drop the FETCH updates nobody asked for (flag changes by other sessions)."""
    for message in client.unsolicited:
        message.close()
    client.unsolicited.clear()


async def fetch_message_ids(client: ImapClient, uids: Sequence[int]) -> dict[int, str | None]:
    """The Message-ID of each UID of the selected folder (absent UIDs are left out)."""
    raw = await fetch_header_fields(client, uids, HEADER_ITEM)
    return {uid: parse_message_id(header) for uid, header in raw.items()}


async def fetch_header_fields(
    client: ImapClient, uids: Sequence[int], item: str = SUMMARY_ITEM
) -> dict[int, bytes]:
    """The raw header section ``item`` of each UID of the selected folder."""
    wanted = sorted(set(uids))
    chunks = [wanted[i : i + _ID_CHUNK] for i in range(0, len(wanted), _ID_CHUNK)]
    found: dict[int, bytes] = {}
    for start in range(0, len(chunks), _ID_WINDOW):
        group = chunks[start : start + _ID_WINDOW]
        results = await asyncio.gather(*(_headers_of(client, chunk, item) for chunk in group))
        for result in results:
            found.update(result)
    return {uid: found[uid] for uid in wanted if uid in found}


async def _headers_of(client: ImapClient, uids: list[int], item: str) -> dict[int, bytes]:
    args = uid_fetch_args(format_sequence_set(uids), fetch_items("UID", item))
    result = await client.connection.command("UID FETCH", *args, pipelined=True)
    found: dict[int, bytes] = {}
    asked = set(uids)
    for event in result.untagged:
        if not isinstance(event, FetchedMessage):
            continue
        try:
            _check_header_answer(event)
            uid, header = event.uid, _header_section(event)
            if uid is not None and uid in asked and header is not None:
                found[uid] = header
        finally:
            event.close()
    return found


_HEADER_ANSWER = frozenset({"UID", "FLAGS", "MODSEQ"})


def _check_header_answer(message: FetchedMessage) -> None:
    """As ``check_answered``, for a header fetch (its section names the fields as the
    server spells them): a wrong Message-ID would match the wrong copy."""
    for name in (*message.attributes, *message.sections):
        if name not in _HEADER_ANSWER and not name.startswith("BODY[HEADER"):
            raise RemoteProtocolError(
                f"FETCH response for UID {message.uid} carries {name!r}, which was not asked "
                "for (a literal announced longer than its data?)"
            )


def _header_section(message: FetchedMessage) -> bytes | None:
    for name, body in message.sections.items():
        if name.startswith("BODY[HEADER"):
            return body.read()
    if any(name.startswith("BODY[HEADER") for name in message.attributes):
        return b""  # sent as NIL: no such header
    return None


def answered_items(items: Sequence[str]) -> frozenset[str]:
    """The item names a FETCH of ``items`` may answer with: those asked for (a ``.PEEK``
    answered without it) and the dynamic ones a server may add unasked."""
    return frozenset({item.replace(".PEEK[", "[") for item in items} | {"FLAGS", "MODSEQ"})


def check_answered(message: FetchedMessage, allowed: frozenset[str]) -> None:
    """Refuse a FETCH response carrying an item we did not ask for. That is what a literal
    announced longer than its data leaves behind: it swallows the start of the next
    response, whose remains (``DY[] {5359}``, ``3 RFC822.SIZE``) read as more items of
    this one, and this message's body ends with protocol bytes. Never copied."""
    for name in (*message.attributes, *message.sections):
        if name not in allowed:
            message.close()
            raise RemoteProtocolError(
                f"FETCH response for UID {message.uid} carries {name!r}, which was not asked "
                "for (a literal announced longer than its data?)"
            )


async def stream_bodies(
    client: ImapClient, uids: Sequence[int], items: Sequence[str]
) -> AsyncIterator[SourceMessage]:
    """Bodies of the selected folder (several UID FETCH in flight, big ones spooled)."""
    stream = client.fetch_messages(list(uids), items, chunk=FETCH_CHUNK, window=FETCH_WINDOW)
    allowed = answered_items(items)
    async with closing_stream(stream) as messages:
        async for message in messages:
            check_answered(message, allowed)
            found = message_with_body(message)
            if found is not None:
                yield found
    forget_unsolicited(client)
