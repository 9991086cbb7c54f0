"""The rig's Courier IMAP (Debian's, unpacked by scripts/setup-courier.sh): it starts,
logs in over plaintext, STARTTLS and implicit TLS, stops without leftovers, restarts with
its mail; the admin's virtual shared folders; filling a mailbox over APPEND keeps
folders, flags and dates.

(No wrong-password test here: Courier answers a failed LOGIN after 5 seconds.)
"""

from __future__ import annotations

import imaplib
import socket
from collections import Counter
from pathlib import Path

import psutil
import pytest

from mailferry.rig import (
    CorpusSpec,
    CourierServer,
    RigCA,
    RigError,
    courier_folder,
    generate,
    process,
)
from mailferry.rig.process import is_alive
from tests.conftest import COURIER_ADMIN
from tests.integration.mailview import Login, imap_session, read_view


def _alive(pid: int) -> bool:
    try:
        return is_alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def _namespace(client: imaplib.IMAP4) -> bytes:
    typ, _ = client._simple_command("NAMESPACE")
    assert typ == "OK"
    [answer] = client.untagged_responses.pop("NAMESPACE")
    assert isinstance(answer, bytes)
    return answer


def test_starts_logs_in_three_ways_and_stops_clean(rig_root: Path, test_ca: RigCA) -> None:
    server = CourierServer(rig_root / "c", test_ca)
    server.add_user("alice", "alice-pw")
    with server:
        assert b"Courier-IMAP ready" in process.read_greeting(server.host, server.imap_port, 5)
        plain = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        assert "STARTTLS" in plain.capabilities and "AUTH=PLAIN" not in plain.capabilities
        plain.login("alice", "alice-pw")
        assert _namespace(plain) == b'(("INBOX." ".")) NIL (("#shared." ".")("shared." "."))'
        plain.logout()
        starttls = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        starttls.starttls(ssl_context=server.ssl_context())
        assert "AUTH=PLAIN" in starttls.capabilities and "STARTTLS" not in starttls.capabilities
        starttls.authenticate("PLAIN", lambda _: b"\0alice\0alice-pw")
        starttls.logout()
        implicit = imaplib.IMAP4_SSL(
            server.host, server.imaps_port, ssl_context=server.ssl_context(), timeout=10
        )
        assert "AUTH=PLAIN" in implicit.capabilities and "STARTTLS" not in implicit.capabilities
        implicit.login("alice", "alice-pw")  # a session process is running now
        pids = server.pids()
        assert len(pids) >= 4  # launcher-turned-couriertcpd, authdaemond, imaps tcpd, imapd
        ports = (server.imap_port, server.imaps_port)
    implicit.shutdown()
    assert not server.is_running and server.pids() == []
    assert [pid for pid in pids if _alive(pid)] == []
    for port in ports:
        with pytest.raises(OSError):
            socket.create_connection((server.host, port), timeout=1).close()
    server.stop()  # idempotent


def test_restart_keeps_mail_and_tls_false_offers_no_starttls(
    rig_root: Path, test_ca: RigCA
) -> None:
    server = CourierServer(rig_root / "c", test_ca, tls=False)
    server.add_user("bob", "bob-pw")
    with server:
        client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        assert "STARTTLS" not in client.capabilities
        client.login("bob", "bob-pw")
        client.append("INBOX", None, None, b"Subject: kept\r\n\r\nbody\r\n")
        client.logout()
        with pytest.raises(RigError, match="no imaps port"):
            server.imaps_port  # noqa: B018
    with server:
        client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        client.login("bob", "bob-pw")
        assert client.select("INBOX") == ("OK", [b"1"])
        client.logout()


def test_without_the_unpacked_tree_the_error_says_how_to_get_it(
    rig_root: Path, test_ca: RigCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILFERRY_COURIER_ROOT", str(rig_root / "nothing-here"))
    with pytest.raises(RigError, match=r"run scripts/setup-courier\.sh"):
        CourierServer(rig_root / "c", test_ca)


def test_the_admin_sees_each_users_tree_under_its_group(courier_server: CourierServer) -> None:
    server = courier_server
    server.add_user("rig.one", "one-pw", shared_group="users")
    server.add_user("rig.two", "two-pw", shared_group="users")
    server.add_user("rig.three", "three-pw")  # not in the shared index
    spec = CorpusSpec(seed=71, messages=9, folders=("INBOX", "Sent"), malformed_fraction=0)
    messages = list(generate(spec))
    server.fill("rig.one", messages)
    admin = Login(COURIER_ADMIN.name, COURIER_ADMIN.password)
    with imap_session(server, admin) as client:
        shared = {name for _, _, name in client.list_folders("", "#shared.*")}
        assert {"#shared.users.rig one", "#shared.users.rig one.Sent"} <= shared
        assert "#shared.users.rig two" in shared
        assert not any("rig three" in name for name in shared)
        inbox = sum(1 for m in messages if m.folder == "INBOX")
        assert client.select_folder("#shared.users.rig one", readonly=True)[b"EXISTS"] == inbox
    with imap_session(server, Login("rig.two", "two-pw")) as client:
        seen = [name for _, _, name in client.list_folders("", "#shared.*")]
        assert seen == ["#shared.users"]  # the group level, but no ACL grants a user's tree


def test_fill_keeps_folders_flags_and_dates(courier_server: CourierServer) -> None:
    spec = CorpusSpec(seed=72, messages=40, malformed_fraction=0)
    messages = list(generate(spec))
    courier_server.add_user("rig.fill", "fill-pw")
    stats = courier_server.fill("rig.fill", messages)
    assert stats.messages == 40
    view = read_view(courier_server, Login("rig.fill", "fill-pw"))
    expected: Counter[tuple[str, frozenset[str], int]] = Counter(
        (courier_folder(m.folder), frozenset(m.flags), int(m.internaldate.timestamp()))
        for m in messages
    )
    found: Counter[tuple[str, frozenset[str], int]] = Counter()
    for folder, mails in view.items():
        for mail, n in mails.items():
            found[(folder, mail.flags, mail.internaldate)] += n
    assert found == expected
    assert "INBOX.Økonomi & Løn" in view and "INBOX.Kvitteringer" in view


def test_courier_folder_names() -> None:
    assert courier_folder("INBOX") == "INBOX"
    assert courier_folder("INBOX/Kvitteringer") == "INBOX.Kvitteringer"
    assert courier_folder("Archive/2019") == "INBOX.Archive.2019"
    with pytest.raises(RigError, match=r"cannot hold a '\.'"):
        courier_folder("v1.2")
