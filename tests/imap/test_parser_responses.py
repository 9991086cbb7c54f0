"""Response parser: every non-FETCH response kind, bytes -> events, in any chunking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.imap.events import (
    CapabilityResponse,
    ContinuationRequest,
    EnabledResponse,
    ESearchResponse,
    Event,
    Exists,
    Expunge,
    FlagsResponse,
    Greeting,
    IdResponse,
    ListResponse,
    Namespace,
    NamespaceResponse,
    OtherUntagged,
    Recent,
    ResponseCode,
    SearchResponse,
    StatusResponse,
    TaggedResponse,
    UntaggedStatus,
    Vanished,
)
from tests.imap.parser_support import feed_chunks, merged, parse_bytewise, parse_whole, split_at

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
L = ListResponse

CASES: list[tuple[str, bytes, list[Event]]] = [
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
    # CAPABILITY / ENABLED
    (
        "capability",
        b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n",
        [CapabilityResponse(frozenset({"IMAP4REV1", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"}))],
    ),
    (
        "capability-gmail",
        b"* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1"
        b" SASL-IR AUTH=XOAUTH2 AUTH=PLAIN auth=plain-clienttoken\r\n",
        [
            CapabilityResponse(
                frozenset(
                    [
                        "IMAP4REV1",
                        "UNSELECT",
                        "IDLE",
                        "NAMESPACE",
                        "QUOTA",
                        "ID",
                        "XLIST",
                        "CHILDREN",
                        "X-GM-EXT-1",
                        "SASL-IR",
                        "AUTH=XOAUTH2",
                        "AUTH=PLAIN",
                        "AUTH=PLAIN-CLIENTTOKEN",
                    ]
                )
            )
        ],
    ),
    (
        "enabled",
        b"* ENABLED CONDSTORE QRESYNC\r\n",
        [EnabledResponse(frozenset({"CONDSTORE", "QRESYNC"}))],
    ),
    ("enabled-empty", b"* ENABLED\r\n", [EnabledResponse(frozenset())]),
    # LIST / LSUB / XLIST
    ("list-root", b'* LIST (\\Noselect) "/" ""\r\n', [L("LIST", ("\\Noselect",), "/", "", b"")]),
    (
        "list-inbox-atom",
        b'* LIST (\\HasNoChildren) "." INBOX\r\n',
        [L("LIST", ("\\HasNoChildren",), ".", "INBOX", b"INBOX")],
    ),
    (
        "list-gmail-sent",
        b'* LIST (\\HasNoChildren \\Sent) "/" "[Gmail]/Sent Mail"\r\n',
        [L("LIST", ("\\HasNoChildren", "\\Sent"), "/", "[Gmail]/Sent Mail", b"[Gmail]/Sent Mail")],
    ),
    (
        "list-gmail-all",
        b'* LIST (\\All \\HasNoChildren) "/" "[Gmail]/All Mail"\r\n',
        [L("LIST", ("\\All", "\\HasNoChildren"), "/", "[Gmail]/All Mail", b"[Gmail]/All Mail")],
    ),
    (
        "list-gmail-root",
        b'* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"\r\n',
        [L("LIST", ("\\HasChildren", "\\Noselect"), "/", "[Gmail]", b"[Gmail]")],
    ),
    (
        "list-gmail-flagged",
        b'* LIST (\\HasNoChildren \\Flagged) "/" "[Gmail]/Starred"\r\n',
        [L("LIST", ("\\HasNoChildren", "\\Flagged"), "/", "[Gmail]/Starred", b"[Gmail]/Starred")],
    ),
    (
        "list-exchange-trash",
        b'* LIST (\\HasNoChildren \\Trash) "/" "Deleted Items"\r\n',
        [L("LIST", ("\\HasNoChildren", "\\Trash"), "/", "Deleted Items", b"Deleted Items")],
    ),
    (
        "list-exchange-junk",
        b'* LIST (\\Marked \\HasNoChildren \\Junk) "/" "Junk Email"\r\n',
        [L("LIST", ("\\Marked", "\\HasNoChildren", "\\Junk"), "/", "Junk Email", b"Junk Email")],
    ),
    (
        "list-dovecot-drafts",
        b'* LIST (\\HasNoChildren \\Drafts) "." Drafts\r\n',
        [L("LIST", ("\\HasNoChildren", "\\Drafts"), ".", "Drafts", b"Drafts")],
    ),
    (
        "list-dovecot-archive",
        b'* LIST (\\HasNoChildren \\UnMarked \\Archive) "." Archive\r\n',
        [L("LIST", ("\\HasNoChildren", "\\UnMarked", "\\Archive"), ".", "Archive", b"Archive")],
    ),
    (
        "list-nil-delimiter",
        b'* LIST (\\Noselect) NIL ""\r\n',
        [L("LIST", ("\\Noselect",), None, "", b"")],
    ),
    (
        "list-backslash-delimiter",
        b'* LIST () "\\\\" "Foo\\\\Bar"\r\n',
        [L("LIST", (), "\\", "Foo\\Bar", b"Foo\\Bar")],
    ),
    (
        "list-backslash-atom",
        b'* LIST () "\\\\" Foo\\Bar\r\n',
        [L("LIST", (), "\\", "Foo\\Bar", b"Foo\\Bar")],
    ),
    (
        "list-quote-in-name",
        b'* LIST () "/" "say \\"hi\\""\r\n',
        [L("LIST", (), "/", 'say "hi"', b'say "hi"')],
    ),
    (
        "list-literal-name",
        b'* LIST () "/" {11}\r\nfoo "bar" x\r\n',
        [L("LIST", (), "/", 'foo "bar" x', b'foo "bar" x')],
    ),
    (
        "list-mutf7",
        b'* LIST () "/" "&ZeVnLIqe-"\r\n',
        [L("LIST", (), "/", "日本語", b"&ZeVnLIqe-")],
    ),
    (
        "list-mutf7-atom",
        b'* LIST (\\HasNoChildren) "." Entw&APw-rfe\r\n',
        [L("LIST", ("\\HasNoChildren",), ".", "Entwürfe", b"Entw&APw-rfe")],
    ),
    (
        "list-utf8-accept",
        '* LIST () "/" "Entwürfe"\r\n'.encode(),
        [L("LIST", (), "/", "Entwürfe", "Entwürfe".encode())],
    ),
    (
        "list-bracket-atom",
        b'* LIST () "/" foo]bar\r\n',
        [L("LIST", (), "/", "foo]bar", b"foo]bar")],
    ),
    ("list-percent-atom", b'* LIST () "/" 50%\r\n', [L("LIST", (), "/", "50%", b"50%")]),
    (
        "list-extended-childinfo",
        b'* LIST (\\Subscribed \\NonExistent) "/" "Fruit/Peach" ("CHILDINFO" ("SUBSCRIBED"))\r\n',
        [L("LIST", ("\\Subscribed", "\\NonExistent"), "/", "Fruit/Peach", b"Fruit/Peach")],
    ),
    (
        "list-extended-oldname",
        b'* LIST () "/" NewName ("OLDNAME" ("OldName"))\r\n',
        [L("LIST", (), "/", "NewName", b"NewName")],
    ),
    (
        "list-extended-literal",
        b'* LIST () "/" {3}\r\nnew ("OLDNAME" ({3}\r\nold))\r\n',
        [L("LIST", (), "/", "new", b"new")],
    ),
    (
        "lsub",
        b'* LSUB () "." #news.comp.mail.misc\r\n',
        [L("LSUB", (), ".", "#news.comp.mail.misc", b"#news.comp.mail.misc")],
    ),
    (
        "xlist",
        b'* XLIST (\\HasNoChildren \\Inbox) "/" "Inbox"\r\n',
        [L("XLIST", ("\\HasNoChildren", "\\Inbox"), "/", "Inbox", b"Inbox")],
    ),
    ("list-lower", b'* list (\\noselect) nil ""\r\n', [L("LIST", ("\\noselect",), None, "", b"")]),
    # STATUS
    (
        "status",
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
        [StatusResponse("blurdybloop", b"blurdybloop", {"MESSAGES": 231, "UIDNEXT": 44292})],
    ),
    (
        "status-dovecot",
        b'* STATUS "INBOX" (MESSAGES 3 RECENT 0 UIDNEXT 4 UIDVALIDITY 1404232325 UNSEEN 0'
        b" HIGHESTMODSEQ 7)\r\n",
        [
            StatusResponse(
                "INBOX",
                b"INBOX",
                {
                    "MESSAGES": 3,
                    "RECENT": 0,
                    "UIDNEXT": 4,
                    "UIDVALIDITY": 1404232325,
                    "UNSEEN": 0,
                    "HIGHESTMODSEQ": 7,
                },
            )
        ],
    ),
    (
        "status-exchange",
        b'* STATUS "Sent Items" (MESSAGES 0 UNSEEN 0)\r\n',
        [StatusResponse("Sent Items", b"Sent Items", {"MESSAGES": 0, "UNSEEN": 0})],
    ),
    (
        "status-literal",
        b"* STATUS {5}\r\nIN BX (MESSAGES 2)\r\n",
        [StatusResponse("IN BX", b"IN BX", {"MESSAGES": 2})],
    ),
    (
        "status-mutf7",
        b'* STATUS "Sent &AOQ-" (messages 1)\r\n',
        [StatusResponse("Sent ä", b"Sent &AOQ-", {"MESSAGES": 1})],
    ),
    ("status-empty", b"* STATUS INBOX ()\r\n", [StatusResponse("INBOX", b"INBOX", {})]),
    (
        "status-mailboxid",
        b"* STATUS foo (MESSAGES 1 MAILBOXID (F2212ea87-6097))\r\n",
        [StatusResponse("foo", b"foo", {"MESSAGES": 1})],
    ),
    (
        "status-paren-atom",
        b"* STATUS foo(1) (MESSAGES 2)\r\n",
        [StatusResponse("foo(1)", b"foo(1)", {"MESSAGES": 2})],
    ),
    # counters
    ("exists", b"* 172 EXISTS\r\n", [Exists(172)]),
    ("exists-zero", b"* 0 EXISTS\r\n", [Exists(0)]),
    ("recent", b"* 1 RECENT\r\n", [Recent(1)]),
    ("expunge", b"* 44 EXPUNGE\r\n", [Expunge(44)]),
    ("expunge-lower", b"* 3 expunge\r\n", [Expunge(3)]),
    # FLAGS
    (
        "flags",
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        [FlagsResponse(("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"))],
    ),
    (
        "flags-keywords",
        b"* FLAGS (\\Seen $Forwarded $MDNSent NonJunk $label1)\r\n",
        [FlagsResponse(("\\Seen", "$Forwarded", "$MDNSent", "NonJunk", "$label1"))],
    ),
    ("flags-empty", b"* FLAGS ()\r\n", [FlagsResponse(())]),
    # SEARCH / ESEARCH
    ("search", b"* SEARCH 2 84 882\r\n", [SearchResponse((2, 84, 882))]),
    ("search-empty", b"* SEARCH\r\n", [SearchResponse(())]),
    ("search-trailing-space", b"* SEARCH 1 \r\n", [SearchResponse((1,))]),
    (
        "search-modseq",
        b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n",
        [SearchResponse((2, 5, 6, 7, 11, 12, 18, 19, 20, 23), 917162500)],
    ),
    (
        "esearch-min-count",
        b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n',
        [ESearchResponse("A282", False, {"MIN": 2, "COUNT": 3})],
    ),
    (
        "esearch-all",
        b'* ESEARCH (TAG "A283") ALL 2,10:11\r\n',
        [ESearchResponse("A283", False, {"ALL": (2, 10, 11)})],
    ),
    (
        "esearch-uid",
        b'* ESEARCH (TAG "A285") UID MIN 7 MAX 3800\r\n',
        [ESearchResponse("A285", True, {"MIN": 7, "MAX": 3800})],
    ),
    ("esearch-none", b'* ESEARCH (TAG "A287") UID\r\n', [ESearchResponse("A287", True, {})]),
    (
        "esearch-modseq",
        b'* ESEARCH (TAG "a") ALL 1:3,5 MODSEQ 1236\r\n',
        [ESearchResponse("a", False, {"ALL": (1, 2, 3, 5), "MODSEQ": 1236})],
    ),
    ("esearch-untagged", b"* ESEARCH UID COUNT 0\r\n", [ESearchResponse(None, True, {"COUNT": 0})]),
    ("esearch-all-single", b"* ESEARCH ALL 5\r\n", [ESearchResponse(None, False, {"ALL": (5,)})]),
    (
        "esearch-partial",
        b'* ESEARCH (TAG "p") UID PARTIAL (1:10 108,111)\r\n',
        [ESearchResponse("p", True, {"PARTIAL": ("1:10", "108,111")})],
    ),
    # VANISHED
    (
        "vanished-earlier",
        b"* VANISHED (EARLIER) 41,43:46,118\r\n",
        [Vanished(True, (41, 43, 44, 45, 46, 118))],
    ),
    ("vanished", b"* VANISHED 405,407,410,425\r\n", [Vanished(False, (405, 407, 410, 425))]),
    ("vanished-one", b"* VANISHED 7\r\n", [Vanished(False, (7,))]),
    # NAMESPACE
    (
        "ns-personal",
        b'* NAMESPACE (("" "/")) NIL NIL\r\n',
        [NamespaceResponse((Namespace("", "/"),), (), ())],
    ),
    (
        "ns-shared",
        b'* NAMESPACE NIL NIL (("" "."))\r\n',
        [NamespaceResponse((), (), (Namespace("", "."),))],
    ),
    (
        "ns-rfc2342-5.3",
        b'* NAMESPACE (("" "/")) NIL (("Public Folders/" "/"))\r\n',
        [NamespaceResponse((Namespace("", "/"),), (), (Namespace("Public Folders/", "/"),))],
    ),
    (
        "ns-extension",
        b'* NAMESPACE (("" "/")("#mh/" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL\r\n',
        [NamespaceResponse((Namespace("", "/"), Namespace("#mh/", "/")), (), ())],
    ),
    (
        "ns-cyrus",
        b'* NAMESPACE (("INBOX." ".")) (("user." ".")) (("shared." "."))\r\n',
        [
            NamespaceResponse(
                (Namespace("INBOX.", "."),),
                (Namespace("user.", "."),),
                (Namespace("shared.", "."),),
            )
        ],
    ),
    (
        "ns-several",
        b'* NAMESPACE (("" "/")) (("~" "/"))'
        b' (("#shared/" "/")("#public/" "/")("#ftp/" "/")("#news." "."))\r\n',
        [
            NamespaceResponse(
                (Namespace("", "/"),),
                (Namespace("~", "/"),),
                (
                    Namespace("#shared/", "/"),
                    Namespace("#public/", "/"),
                    Namespace("#ftp/", "/"),
                    Namespace("#news.", "."),
                ),
            )
        ],
    ),
    (
        "ns-mutf7-nil-delim",
        b'* NAMESPACE (("&ZeVnLIqe-/" NIL)) NIL NIL\r\n',
        [NamespaceResponse((Namespace("日本語/", None),), (), ())],
    ),
    # ID
    (
        "id-cyrus",
        b'* ID ("name" "Cyrus" "version" "1.5" "os" "sunos" "os-version" "5.5"'
        b' "support-url" "mailto:cyrus-bugs+@andrew.cmu.edu")\r\n',
        [
            IdResponse(
                {
                    "name": "Cyrus",
                    "version": "1.5",
                    "os": "sunos",
                    "os-version": "5.5",
                    "support-url": "mailto:cyrus-bugs+@andrew.cmu.edu",
                }
            )
        ],
    ),
    ("id-nil", b"* ID NIL\r\n", [IdResponse(None)]),
    (
        "id-gmail",
        b'* ID ("name" "GImap" "vendor" "Google, Inc." "support-url" NIL)\r\n',
        [IdResponse({"name": "GImap", "vendor": "Google, Inc.", "support-url": None})],
    ),
    # anything else
    (
        "quota",
        b'* QUOTA "" (STORAGE 10 512)\r\n',
        [OtherUntagged("QUOTA", None, ("", ("STORAGE", 10, 512)))],
    ),
    ("quotaroot", b'* QUOTAROOT INBOX ""\r\n', [OtherUntagged("QUOTAROOT", None, ("INBOX", ""))]),
    (
        "metadata",
        b"* METADATA INBOX (/private/comment {11}\r\nhello world)\r\n",
        [OtherUntagged("METADATA", None, ("INBOX", ("/private/comment", b"hello world")))],
    ),
    ("sort", b"* SORT 2 3 6\r\n", [OtherUntagged("SORT", None, (2, 3, 6))]),
    (
        "thread",
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
        [OtherUntagged("THREAD", None, ((2,), (3, 6, (4, 23), (44, 7, 96))))],
    ),
    ("numbered-other", b"* 5 XFOO bar\r\n", [OtherUntagged("XFOO", 5, ("bar",))]),
    (
        "other-raw-fallback",
        b'* XWEIRD some "unbalanced text\r\n',
        [OtherUntagged("XWEIRD", None, ('some "unbalanced text',))],
    ),
    ("other-empty", b"* XNOTHING\r\n", [OtherUntagged("XNOTHING", None, ())]),
]

_IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CASES], ids=_IDS)
def test_whole(data: bytes, expected: list[Event]) -> None:
    assert parse_whole(data) == expected


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CASES], ids=_IDS)
def test_byte_by_byte(data: bytes, expected: list[Event]) -> None:
    assert parse_bytewise(data) == expected


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CASES], ids=_IDS)
@settings(max_examples=15, deadline=None)
@given(st.data())
def test_random_chunks(data: bytes, expected: list[Event], draw: st.DataObject) -> None:
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=8))
    assert merged(feed_chunks(split_at(data, cuts))) == expected


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in GREETINGS], ids=[c[0] for c in GREETINGS]
)
def test_greeting(data: bytes, expected: Event) -> None:
    assert parse_whole(data, greeting=True) == [expected]
    assert parse_bytewise(data, greeting=True) == [expected]


def test_all_cases_in_one_stream() -> None:
    stream = b"".join(case[1] for case in CASES)
    expected = [event for case in CASES for event in case[2]]
    assert parse_whole(stream) == expected
    assert parse_bytewise(stream) == expected


def test_greeting_only_once_then_untagged_status() -> None:
    events = parse_whole(b"* OK hello\r\n* OK [UIDNEXT 5] again\r\n", greeting=True)
    assert events == [Greeting("OK", None, "hello"), S("OK", RC("UIDNEXT", 5), "again")]
