"""Response parser: greetings, continuations, tagged and untagged status, response codes."""

from __future__ import annotations

import pytest

from mailferry.imap.events import (
    ContinuationRequest,
    Event,
    Greeting,
    ResponseCode,
    TaggedResponse,
    UntaggedStatus,
)
from tests.imap.parser_support import (
    Case,
    check_one_stream,
    parse_bytewise,
    parse_whole,
    table_tests,
)

RC = ResponseCode
DOVECOT_CAPS = frozenset(
    [
        "IMAP4REV1",
        "SASL-IR",
        "LOGIN-REFERRALS",
        "ID",
        "ENABLE",
        "IDLE",
        "LITERAL+",
        "STARTTLS",
        "AUTH=PLAIN",
    ]
)

GREETINGS: list[tuple[str, bytes, Event]] = [
    (
        "dovecot",
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS"
        b" AUTH=PLAIN] Dovecot (Debian) ready.\r\n",
        Greeting("OK", RC("CAPABILITY", DOVECOT_CAPS), "Dovecot (Debian) ready."),
    ),
    (
        "exchange",
        b"* OK The Microsoft Exchange IMAP4 service is ready. [TQBXADIAUABSADAAMQBDAEEA]\r\n",
        Greeting(
            "OK", None, "The Microsoft Exchange IMAP4 service is ready. [TQBXADIAUABSADAAMQBDAEEA]"
        ),
    ),
    (
        "gmail",
        b"* OK Gimap ready for requests from 192.0.2.1 h3mb123456wrb\r\n",
        Greeting("OK", None, "Gimap ready for requests from 192.0.2.1 h3mb123456wrb"),
    ),
    (
        "cyrus",
        b"* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE AUTH=PLAIN SASL-IR] mail.example.com"
        b" Cyrus IMAP 3.4.3 server ready\r\n",
        Greeting(
            "OK",
            RC(
                "CAPABILITY",
                frozenset({"IMAP4REV1", "LITERAL+", "ID", "ENABLE", "AUTH=PLAIN", "SASL-IR"}),
            ),
            "mail.example.com Cyrus IMAP 3.4.3 server ready",
        ),
    ),
    (
        "preauth",
        b"* PREAUTH IMAP4rev1 server logged in as Smith\r\n",
        Greeting("PREAUTH", None, "IMAP4rev1 server logged in as Smith"),
    ),
    ("bye", b"* BYE Too many connections\r\n", Greeting("BYE", None, "Too many connections")),
    ("lower-case", b"* ok hello\r\n", Greeting("OK", None, "hello")),
    ("no-text", b"* OK\r\n", Greeting("OK", None, "")),
]

S = UntaggedStatus
T = TaggedResponse

CASES: list[Case] = [
    # continuation requests
    (
        "cont-text",
        b"+ Ready for additional command text\r\n",
        [ContinuationRequest("Ready for additional command text")],
    ),
    ("cont-bare", b"+\r\n", [ContinuationRequest("")]),
    ("cont-space", b"+ \r\n", [ContinuationRequest("")]),
    (
        "cont-base64",
        b"+ YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iSzBJoAMCAQGiQgRAtHTE==\r\n",
        [ContinuationRequest("YGgGCSqGSIb3EgECAgIAb1kwV6ADAgEFoQMCAQ+iSzBJoAMCAQGiQgRAtHTE==")],
    ),
    ("cont-idling", b"+ idling\r\n", [ContinuationRequest("idling")]),
    # tagged
    ("tag-ok", b"a001 OK LOGIN completed\r\n", [T("a001", "OK", None, "LOGIN completed")]),
    (
        "tag-read-write",
        b"A142 OK [READ-WRITE] SELECT completed\r\n",
        [T("A142", "OK", RC("READ-WRITE"), "SELECT completed")],
    ),
    (
        "tag-read-only",
        b"A932 OK [READ-ONLY] EXAMINE completed\r\n",
        [T("A932", "OK", RC("READ-ONLY"), "EXAMINE completed")],
    ),
    (
        "tag-authfailed",
        b"a002 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
        [T("a002", "NO", RC("AUTHENTICATIONFAILED"), "Authentication failed.")],
    ),
    (
        "tag-bad",
        b"a003 BAD Error in IMAP command received by server.\r\n",
        [T("a003", "BAD", None, "Error in IMAP command received by server.")],
    ),
    (
        "tag-appenduid",
        b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
        [T("A003", "OK", RC("APPENDUID", (38505, (3955,))), "APPEND completed")],
    ),
    (
        "tag-appenduid-set",
        b"A004 OK [APPENDUID 38505 3955:3957] done\r\n",
        [T("A004", "OK", RC("APPENDUID", (38505, (3955, 3956, 3957))), "done")],
    ),
    (
        "tag-copyuid",
        b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
        [T("A004", "OK", RC("COPYUID", (38505, (304, 319, 320), (3956, 3957, 3958))), "Done")],
    ),
    (
        "tag-trycreate",
        b"A003 NO [TRYCREATE] Mailbox doesn't exist: foo\r\n",
        [T("A003", "NO", RC("TRYCREATE"), "Mailbox doesn't exist: foo")],
    ),
    (
        "tag-overquota",
        b"a5 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n",
        [T("a5", "NO", RC("OVERQUOTA"), "Quota exceeded (mailbox for user is full)")],
    ),
    (
        "tag-limit",
        b"a6 NO [LIMIT] Too many messages\r\n",
        [T("a6", "NO", RC("LIMIT"), "Too many messages")],
    ),
    (
        "tag-throttled",
        b"a7 NO [THROTTLED] Request is throttled.\r\n",
        [T("a7", "NO", RC("THROTTLED"), "Request is throttled.")],
    ),
    (
        "tag-exchange-throttle",
        b"a8 NO Request is throttled. Suggested Backoff Time: 126 milliseconds\r\n",
        [T("a8", "NO", None, "Request is throttled. Suggested Backoff Time: 126 milliseconds")],
    ),
    (
        "tag-unavailable",
        b"a9 NO [UNAVAILABLE] Temporary failure\r\n",
        [T("a9", "NO", RC("UNAVAILABLE"), "Temporary failure")],
    ),
    (
        "tag-highestmodseq",
        b"a10 OK [HIGHESTMODSEQ 715194045007] Select completed\r\n",
        [T("a10", "OK", RC("HIGHESTMODSEQ", 715194045007), "Select completed")],
    ),
    (
        "tag-badcharset",
        b'a11 NO [BADCHARSET (UTF-8 "US-ASCII")] bad charset\r\n',
        [T("a11", "NO", RC("BADCHARSET", ("UTF-8", "US-ASCII")), "bad charset")],
    ),
    (
        "tag-badcharset-bare",
        b"a11 NO [BADCHARSET] bad charset\r\n",
        [T("a11", "NO", RC("BADCHARSET", ()), "bad charset")],
    ),
    (
        "tag-referral",
        b"a12 NO [REFERRAL imap://user;AUTH=*@SERVER2/] Remote\r\n",
        [T("a12", "NO", RC("REFERRAL", "imap://user;AUTH=*@SERVER2/"), "Remote")],
    ),
    ("tag-no-text", b"a13 OK\r\n", [T("a13", "OK", None, "")]),
    ("tag-code-no-text", b"a14 OK [READ-WRITE]\r\n", [T("a14", "OK", RC("READ-WRITE"), "")]),
    ("tag-lower", b"a15 ok done\r\n", [T("a15", "OK", None, "done")]),
    ("tag-unclosed-bracket", b"a16 NO [oops no code\r\n", [T("a16", "NO", None, "[oops no code")]),
    ("tag-literal-text", b"a17 OK see {5}\r\n", [T("a17", "OK", None, "see {5}")]),
    (
        "tag-8bit",
        "a18 NO Zugriff verweigert: Ünbekannt\r\n".encode(),
        [T("a18", "NO", None, "Zugriff verweigert: Ünbekannt")],
    ),
    *[
        (f"code-{name.lower()}", f"a20 NO [{name}] x\r\n".encode(), [T("a20", "NO", RC(name), "x")])
        for name in (
            "ALERT",
            "CLOSED",
            "PARSE",
            "SERVERBUG",
            "INUSE",
            "EXPUNGEISSUED",
            "CANNOT",
            "NONEXISTENT",
            "ALREADYEXISTS",
            "CONTACTADMIN",
            "NOPERM",
            "PRIVACYREQUIRED",
        )
    ],
    # untagged status
    (
        "st-unseen",
        b"* OK [UNSEEN 12] Message 12 is first unseen\r\n",
        [S("OK", RC("UNSEEN", 12), "Message 12 is first unseen")],
    ),
    (
        "st-uidvalidity",
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        [S("OK", RC("UIDVALIDITY", 3857529045), "UIDs valid")],
    ),
    (
        "st-uidnext",
        b"* OK [UIDNEXT 4392] Predicted next UID\r\n",
        [S("OK", RC("UIDNEXT", 4392), "Predicted next UID")],
    ),
    (
        "st-permanentflags",
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        [S("OK", RC("PERMANENTFLAGS", ("\\Deleted", "\\Seen", "\\*")), "Limited")],
    ),
    (
        "st-permanentflags-empty",
        b"* OK [PERMANENTFLAGS ()] Flags permitted.\r\n",
        [S("OK", RC("PERMANENTFLAGS", ()), "Flags permitted.")],
    ),
    ("st-alert", b"* NO [ALERT] Disk full\r\n", [S("NO", RC("ALERT"), "Disk full")]),
    ("st-bad", b"* BAD Command line too long\r\n", [S("BAD", None, "Command line too long")]),
    (
        "st-bye",
        b"* BYE IMAP4rev1 Server logging out\r\n",
        [S("BYE", None, "IMAP4rev1 Server logging out")],
    ),
    ("st-preauth", b"* PREAUTH ready\r\n", [S("PREAUTH", None, "ready")]),
    (
        "st-closed",
        b"* OK [CLOSED] Previous mailbox closed.\r\n",
        [S("OK", RC("CLOSED"), "Previous mailbox closed.")],
    ),
    (
        "st-nomodseq",
        b"* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n",
        [S("OK", RC("NOMODSEQ"), "Sorry, this mailbox format doesn't support modsequences")],
    ),
    (
        "st-appendlimit",
        b"* OK [APPENDLIMIT 35882577] max size\r\n",
        [S("OK", RC("APPENDLIMIT", 35882577), "max size")],
    ),
    ("st-keepalive", b"* OK Still here\r\n", [S("OK", None, "Still here")]),
    ("st-unknown-code", b"* OK [XFOO bar baz] text\r\n", [S("OK", RC("XFOO", "bar baz"), "text")]),
    ("st-unknown-bare", b"* OK [xbar] text\r\n", [S("OK", RC("XBAR"), "text")]),
    (
        "st-capability-code",
        b"* OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n",
        [S("OK", RC("CAPABILITY", frozenset({"IMAP4REV1", "IDLE"})), "Logged in")],
    ),
]

test_whole, test_byte_by_byte, test_random_chunks = table_tests(CASES)


def test_all_cases_in_one_stream() -> None:
    check_one_stream(CASES)


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in GREETINGS], ids=[c[0] for c in GREETINGS]
)
def test_greeting(data: bytes, expected: Event) -> None:
    assert parse_whole(data, greeting=True) == [expected]
    assert parse_bytewise(data, greeting=True) == [expected]


def test_greeting_only_once_then_untagged_status() -> None:
    events = parse_whole(b"* OK hello\r\n* OK [UIDNEXT 5] again\r\n", greeting=True)
    assert events == [Greeting("OK", None, "hello"), S("OK", RC("UIDNEXT", 5), "again")]
