"""FETCH responses with Gmail's X-GM-MSGID and X-GM-LABELS, through the whole parser.

Origin of the responses: Google's documentation of the extension,
https://developers.google.com/gmail/imap/imap-extensions (the ``X-GM-MSGID`` and
``X-GM-LABELS`` examples, transcribed: ``1278455344230334865``, ``\\Inbox \\Sent
Important "Muy Importante"``), plus a listing line in the layout Gmail answers mailferry's
listing FETCH with (its items in the order asked). No Gmail account can be reached from
here, so these are the recorded forms, not a live capture; Dovecot cannot produce them.
"""

from __future__ import annotations

import pytest

from mailferry.errors import RemoteProtocolError
from mailferry.imap.events import FetchResponse
from mailferry.imap.gmail import gm_labels, gm_msgid
from tests.imap.parser_support import feed_with_runs, flattened, parse_bytewise, parse_whole

DOC_MSGID = b"* 1 FETCH (X-GM-MSGID 1278455344230334865)\r\n"
DOC_LABELS = b'* 1 FETCH (X-GM-LABELS (\\Inbox \\Sent Important "Muy Importante"))\r\n'
LISTING = (
    b'* 3 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
    b"RFC822.SIZE 4286 X-GM-MSGID 1278455344230334865 "
    b'X-GM-LABELS (\\Inbox \\Starred "[Gmail]/Important" &AMk-t&AOk-))\r\n'
    b'* 4 FETCH (UID 8 FLAGS () INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
    b"RFC822.SIZE 12 X-GM-MSGID 1278455344230334866 X-GM-LABELS ())\r\n"
)


def fetches(data: bytes) -> list[FetchResponse]:
    whole = [e for e in parse_whole(data) if isinstance(e, FetchResponse)]
    bytewise = [e for e in parse_bytewise(data) if isinstance(e, FetchResponse)]
    runs = [e for e in flattened(feed_with_runs([data])) if isinstance(e, FetchResponse)]
    assert whole == bytewise == runs
    return whole


def test_msgid_from_the_documentation() -> None:
    (response,) = fetches(DOC_MSGID)
    assert gm_msgid(response.attributes) == 1278455344230334865


def test_labels_from_the_documentation() -> None:
    (response,) = fetches(DOC_LABELS)
    assert gm_labels(response.attributes) == ("\\Inbox", "\\Sent", "Important", "Muy Importante")


def test_a_listing_line_with_gmail_items() -> None:
    first, second = fetches(LISTING)
    assert first.attributes["UID"] == 7
    assert gm_msgid(first.attributes) == 1278455344230334865
    # modified UTF-7 is decoded; system labels keep their backslash
    assert gm_labels(first.attributes) == ("\\Inbox", "\\Starred", "[Gmail]/Important", "Été")
    assert gm_labels(second.attributes) == ()
    assert gm_msgid(second.attributes) == 1278455344230334866


def test_absent_items_are_none() -> None:
    (response,) = fetches(b"* 1 FETCH (UID 3)\r\n")
    assert gm_msgid(response.attributes) is None
    assert gm_labels(response.attributes) is None


@pytest.mark.parametrize(
    "data",
    [
        b"* 1 FETCH (X-GM-MSGID abc)\r\n",  # not a number: the parser refuses it
        b"* 1 FETCH (X-GM-MSGID 5 X-GM-MSGID 6)\r\n",  # two ids for one message
    ],
)
def test_bad_msgid_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_whole(data)


def test_labels_not_a_list_is_a_protocol_error() -> None:
    (response,) = fetches(b"* 1 FETCH (X-GM-LABELS Work)\r\n")
    with pytest.raises(RemoteProtocolError):
        gm_labels(response.attributes)
