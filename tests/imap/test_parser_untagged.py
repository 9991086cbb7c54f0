"""Response parser: untagged data responses (CAPABILITY, LIST, STATUS, SEARCH...)."""

from __future__ import annotations

from mailferry.imap.events import (
    CapabilityResponse,
    EnabledResponse,
    ESearchResponse,
    Exists,
    Expunge,
    FlagsResponse,
    IdResponse,
    ListResponse,
    Namespace,
    NamespaceResponse,
    OtherUntagged,
    Recent,
    SearchResponse,
    StatusResponse,
    Vanished,
)
from tests.imap.parser_support import (
    Case,
    check_one_stream,
    table_tests,
)

L = ListResponse

CASES: list[Case] = [
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

test_whole, test_byte_by_byte, test_random_chunks = table_tests(CASES)


def test_all_cases_in_one_stream() -> None:
    check_one_stream(CASES)
