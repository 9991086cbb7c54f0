"""Gmail's IMAP extension (``X-GM-EXT-1``): message ids and labels in FETCH.

Google documents the extension at https://developers.google.com/gmail/imap/imap-extensions.
``X-GM-MSGID`` is a 64-bit number that names one message across all the labels (folders)
it shows up in; ``X-GM-LABELS`` lists its labels as astrings in modified UTF-7, the
system ones as flags (``\\Inbox``, ``\\Sent``, ``\\Draft``, ``\\Important``,
``\\Starred``, ``\\Trash``, ``\\Spam``). The FETCH parser reads X-GM-MSGID as a number
(``imap/fetch.py``) and X-GM-LABELS as a generic list; this module makes them typed.
"""

from __future__ import annotations

from collections.abc import Mapping

from mailferry.errors import RemoteProtocolError
from mailferry.imap import mutf7

CAPABILITY = "X-GM-EXT-1"
#: The items a Gmail source adds to its listing FETCH.
LISTING_ITEMS = ("X-GM-MSGID", "X-GM-LABELS")


def gm_msgid(attributes: Mapping[str, object]) -> int | None:
    """X-GM-MSGID of a FETCH response, None when absent."""
    value = attributes.get("X-GM-MSGID")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise RemoteProtocolError(f"X-GM-MSGID is not a number: {value!r}")
    return value


def gm_labels(attributes: Mapping[str, object]) -> tuple[str, ...] | None:
    """X-GM-LABELS of a FETCH response, decoded (system labels keep their backslash);
    None when absent."""
    value = attributes.get("X-GM-LABELS")
    if value is None:
        return None
    if not isinstance(value, tuple):
        raise RemoteProtocolError(f"X-GM-LABELS is not a list: {value!r}")
    labels: list[str] = []
    for label in value:
        if isinstance(label, bytes):
            label = label.decode("utf-8", "surrogateescape")
        if not isinstance(label, str):
            raise RemoteProtocolError(f"X-GM-LABELS holds a non-string: {label!r}")
        labels.append(
            label
            if label.startswith("\\")
            else mutf7.decode(label.encode("utf-8", "surrogateescape"))
        )
    return tuple(labels)
