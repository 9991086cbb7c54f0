"""Response parser against a real Dovecot: a recorded session parses to the right events.

A raw socket sends commands to the rig's source server and the parser turns what
comes back into events; the recorded bytes are then replayed byte by byte and in
odd-sized chunks, which must give the same events. The session's parser hands
bodies up to 32 KiB out whole and streams larger ones, so both forms meet real
data; replays compare the two parser modes (``normalized``).
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from mailferry.imap.events import (
    CapabilityResponse,
    EnabledResponse,
    ESearchResponse,
    Event,
    Exists,
    FetchLiteralStart,
    FetchResponse,
    FlagsResponse,
    Greeting,
    IdResponse,
    ListResponse,
    NamespaceResponse,
    ResponseCode,
    StatusResponse,
    TaggedResponse,
    UntaggedStatus,
)
from mailferry.imap.parser import ResponseParser
from mailferry.rig import DovecotServer
from tests.conftest import CorpusAccount
from tests.imap.parser_support import STREAM_ALL, feed_chunks, merged, normalized

MAX_READS = 100_000
E = TypeVar("E")


class Session:
    """A blocking IMAP conversation that records every byte received."""

    def __init__(self, server: DovecotServer) -> None:
        self.sock = socket.create_connection((server.host, server.imap_port), timeout=15)
        self.parser = ResponseParser(max_whole_body=32 * 1024)
        self.received = bytearray()
        self.greeting = self._read_until(lambda event: isinstance(event, Greeting))

    def close(self) -> None:
        self.sock.close()

    def command(self, tag: str, text: str) -> list[Event]:
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        return self._read_until(lambda e: isinstance(e, TaggedResponse) and e.tag == tag)

    def _read_until(self, done: Callable[[Event], bool]) -> list[Event]:
        events: list[Event] = []
        for _ in range(MAX_READS):
            data = self.sock.recv(65536)
            assert data, "server closed the connection"
            self.received += data
            self.parser.feed(data)
            for event in self.parser.events():
                events.append(event)
                if done(event):
                    return events
        raise AssertionError("no completion")


@pytest.fixture
def session(dovecot_source: DovecotServer) -> Iterator[Session]:
    conversation = Session(dovecot_source)
    try:
        yield conversation
    finally:
        conversation.close()


def _of(kind: type[E], events: list[Event]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def _bodies(events: list[Event]) -> list[bytes]:
    """The body sections of the FETCH responses, streamed or whole, in order."""
    bodies: list[bytes] = []
    for response in _of(FetchResponse, normalized(events)):
        for name, value in response.attributes.items():
            if name.startswith("BODY[") and isinstance(value, bytes):
                bodies.append(value)
    return bodies


def test_recorded_dovecot_session(session: Session, corpus_account: CorpusAccount) -> None:
    account = corpus_account.account
    inbox = [m for m in corpus_account.messages if m.folder == "INBOX"]
    greeting = session.greeting[-1]
    assert isinstance(greeting, Greeting) and greeting.status == "OK"
    assert greeting.code is not None and greeting.code.name == "CAPABILITY"

    (login,) = _of(
        TaggedResponse, session.command("a1", f'LOGIN "{account.name}" "{account.password}"')
    )
    assert (login.tag, login.status, login.text) == ("a1", "OK", "Logged in")

    caps = session.command("a2", "CAPABILITY")
    assert {"IMAP4REV1", "QRESYNC", "ESEARCH"} <= _of(CapabilityResponse, caps)[0].capabilities
    assert _of(EnabledResponse, session.command("a3", "ENABLE QRESYNC")) == [
        EnabledResponse(frozenset({"QRESYNC"}))
    ]
    (namespace,) = _of(NamespaceResponse, session.command("a4", "NAMESPACE"))
    assert namespace.personal[0].prefix == ""
    (ident,) = _of(IdResponse, session.command("a5", "ID NIL"))
    assert ident.params and ident.params["name"] == "Dovecot"

    listing = _of(ListResponse, session.command("a6", 'LIST "" "*"'))
    separator = listing[0].delimiter or "/"
    names = {event.name.replace(separator, "/") for event in listing}
    assert {m.folder for m in corpus_account.messages} <= names
    assert "Økonomi & Løn" in names

    status = session.command("a7", "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")
    (inbox_status,) = _of(StatusResponse, status)
    assert inbox_status.mailbox == "INBOX"
    assert inbox_status.items["MESSAGES"] == len(inbox)

    selected = session.command("a8", "SELECT INBOX")
    assert Exists(len(inbox)) in selected
    assert _of(FlagsResponse, selected)
    codes = {e.code.name for e in _of(UntaggedStatus, selected) if e.code}
    assert {"PERMANENTFLAGS", "UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ"} <= codes
    assert _of(TaggedResponse, selected)[0].code == ResponseCode("READ-WRITE")

    fetched = session.command(
        "a9", "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"
    )
    responses = _of(FetchResponse, fetched)
    bodies = _bodies(fetched)
    assert len(responses) == len(bodies) == len(inbox)
    streamed = len(_of(FetchLiteralStart, fetched))
    assert 0 < streamed < len(inbox)  # both forms: whole (small) and streamed (large)
    for response, body in zip(responses, bodies, strict=True):
        value = response.attributes["BODY[]"]
        assert value == body if isinstance(value, bytes) else value.size == len(body)  # type: ignore[attr-defined]
        assert (len(body) > 32 * 1024) == (not isinstance(value, bytes))
        assert response.attributes["RFC822.SIZE"] == len(body)
        assert response.internaldate is not None and response.uid is not None
    digests = sorted(hashlib.sha256(body).hexdigest() for body in bodies)
    assert digests == sorted(m.imap_sha256() for m in inbox)
    expected_dates = sorted(m.internaldate.timestamp() for m in inbox)
    dates = [r.internaldate for r in responses if r.internaldate is not None]
    assert sorted(d.timestamp() for d in dates) == expected_dates

    uids = tuple(r.uid for r in responses if r.uid is not None)
    (esearch,) = _of(ESearchResponse, session.command("a10", "UID SEARCH RETURN (ALL COUNT) ALL"))
    assert esearch == ESearchResponse("a10", True, {"ALL": uids, "COUNT": len(uids)})

    parts = session.command(
        "a11", "FETCH 1 (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE)])"
    )
    (part,) = _of(FetchResponse, parts)
    assert isinstance(part.attributes["ENVELOPE"], tuple)
    assert isinstance(part.attributes["BODYSTRUCTURE"], tuple)
    (headers,) = _bodies(parts)
    assert headers.endswith(b"\r\n\r\n")

    bye = session.command("a12", "LOGOUT")
    assert _of(UntaggedStatus, bye)[0].status == "BYE"

    # Replaying the recording in other chunkings gives the same events.
    recorded = bytes(session.received)
    whole = merged(feed_chunks([recorded], greeting=True))
    assert len(_of(FetchResponse, whole)) == len(inbox) + 1
    assert not _of(FetchLiteralStart, whole)  # every body fits the default whole-body limit
    odd = [recorded[i : i + 7919] for i in range(0, len(recorded), 7919)]
    assert merged(feed_chunks(odd, greeting=True)) == whole
    small = [recorded[i : i + 61] for i in range(0, len(recorded), 61)]
    streamed_events = feed_chunks(small, greeting=True, whole=STREAM_ALL)
    assert normalized(streamed_events) == normalized(whole)
