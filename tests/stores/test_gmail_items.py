"""A Gmail listing entry becomes a MessageMeta with X-GM-MSGID and X-GM-LABELS.

The FETCH attributes are simulated (as the parser reads Google's documented responses,
tests/imap/test_gmail_fetch.py): Dovecot cannot send these items, and no Gmail account is
reachable from here.
"""

from __future__ import annotations

import datetime as dt

from mailferry.connection.fetch_sink import FetchedMessage
from mailferry.stores.imap_common import meta_from, with_gmail_items

WHEN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def listed(**extra: object) -> FetchedMessage:
    attributes = {"UID": 9, "FLAGS": ("\\Seen", "\\Recent"), "INTERNALDATE": WHEN,
                  "RFC822.SIZE": 120, **extra}  # fmt: skip
    return FetchedMessage(1, attributes, {})


def test_gmail_items_are_read() -> None:
    message = listed(**{"X-GM-MSGID": 1278455344230334865, "X-GM-LABELS": ("\\Inbox", "Work")})
    plain = meta_from(message)
    assert plain is not None
    meta = with_gmail_items(plain, message.attributes)
    assert (meta.uid, meta.size, meta.flags) == (9, 120, ("\\Seen",))
    assert meta.gm_msgid == 1278455344230334865
    assert meta.gm_labels == ("\\Inbox", "Work")


def test_starred_label_is_the_flagged_flag() -> None:
    message = listed(**{"X-GM-MSGID": 5, "X-GM-LABELS": ("\\Starred",)})
    plain = meta_from(message)
    assert plain is not None
    assert with_gmail_items(plain, message.attributes).flags == ("\\Seen", "\\Flagged")


def test_without_gmail_items_nothing_is_known() -> None:
    message = listed()
    plain = meta_from(message)
    assert plain is not None
    meta = with_gmail_items(plain, message.attributes)
    assert meta.gm_msgid is None and meta.gm_labels is None and meta.flags == ("\\Seen",)
