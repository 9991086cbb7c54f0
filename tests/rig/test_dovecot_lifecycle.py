"""Servers a test starts itself: options, failure to start, clean shutdown."""

from __future__ import annotations

import imaplib
import socket
from pathlib import Path

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.rig import DovecotServer, DovecotStartError, RigCA, RigError, process, safe_dirname
from mailferry.rig.process import is_alive
from tests.conftest import STANDARD_USERS


def _login(server: DovecotServer, name: str, password: str) -> imaplib.IMAP4:
    client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
    client.login(name, password)
    return client


def test_stop_leaves_no_process_and_closes_the_ports(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca)
    server.add_user("alice", "pw")
    with server:
        client = _login(server, "alice", "pw")  # an imap process exists now
        pids = server.pids()
        assert len(pids) >= 5
        assert any("imap" in psutil.Process(pid).name() for pid in pids)
        ports = (server.imap_port, server.imaps_port)
    client.shutdown()
    assert server.pids() == []
    assert not server.is_running
    assert [pid for pid in pids if _alive(pid)] == []
    for port in ports:
        with pytest.raises(OSError):
            socket.create_connection((server.host, port), timeout=1).close()
    server.stop()  # idempotent


def _alive(pid: int) -> bool:
    try:
        return is_alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def test_restart_keeps_users_and_mail(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca)
    server.add_user("alice", "pw")
    with server:
        client = _login(server, "alice", "pw")
        client.append("INBOX", None, None, b"Subject: kept\r\n\r\nbody\r\n")
        client.logout()
    with server:
        client = _login(server, "alice", "pw")
        assert client.select("INBOX") == ("OK", [b"1"])
        client.logout()


def test_logindisabled_server_refuses_login(login_disabled_dovecot: DovecotServer) -> None:
    server = login_disabled_dovecot
    for client in (
        imaplib.IMAP4(server.host, server.imap_port, timeout=10),
        imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=server.ssl_context()),
    ):
        assert "LOGINDISABLED" in client.capabilities
        assert "AUTH=PLAIN" not in client.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            client.login(STANDARD_USERS[0].name, STANDARD_USERS[0].password)
        client.logout()


def test_plain_server_offers_no_tls(plain_dovecot: DovecotServer) -> None:
    client = imaplib.IMAP4(plain_dovecot.host, plain_dovecot.imap_port, timeout=10)
    assert "STARTTLS" not in client.capabilities
    assert "LOGINDISABLED" not in client.capabilities
    assert client.login(STANDARD_USERS[0].name, STANDARD_USERS[0].password)[0] == "OK"
    client.logout()
    with pytest.raises(RigError):
        _ = plain_dovecot.imaps_port


def test_a_broken_config_raises_with_the_log_tail(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca, start_timeout=5)
    (rig_root / "s" / "tls" / "server-key.pem").write_text("not a key\n")
    with pytest.raises(DovecotStartError) as caught:
        server.start()
    assert "key" in caught.value.log_tail.lower()
    assert server.pids() == []
    server.stop()


def test_mdbox_with_slash_separator_and_no_fsync(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca, storage="mdbox", separator="/", fsync=False)
    server.add_user("alice", "pw")
    assert server.mail_location == "mdbox:~/mdbox"
    with server:
        assert "mail_fsync = never" in server.config_path.read_text()
        client = _login(server, "alice", "pw")
        assert client.create("Projekter/&AMY-bler")[0] == "OK"
        client.append("Projekter/&AMY-bler", None, None, b"Subject: x\r\n\r\ny\r\n")
        _status, lines = client.list()
        client.logout()
    assert b'"/" Projekter/&AMY-bler' in b"\n".join(lines)
    assert (server.user_mail_dir("alice") / "storage").is_dir()


def test_shared_namespace_shows_users_subtrees(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca, separator="/", shared_namespace=True)
    server.add_user("terry.adams", "pw")
    server.add_user("mailadmin", "adminpw")
    with server:
        owner = _login(server, "terry.adams", "pw")
        owner.create("Projekter/2019")
        owner.append("Projekter/2019", None, None, b"Subject: shared\r\n\r\nbody\r\n")
        owner.logout()
        admin = _login(server, "mailadmin", "adminpw")
        status, lines = admin.list('""', "users/terry.adams/*")
        assert status == "OK"
        names = {line.rsplit(b'"/" ', 1)[1] for line in lines if line}
        assert names == {b"users/terry.adams/Projekter", b"users/terry.adams/Projekter/2019"}
        assert admin.select("users/terry.adams/Projekter/2019", readonly=True) == ("OK", [b"1"])
        assert admin.select("users/terry.adams/INBOX", readonly=True)[0] == "OK"
        admin.logout()


def test_bad_options_are_refused(rig_root: Path, test_ca: RigCA) -> None:
    with pytest.raises(RigError):
        DovecotServer(rig_root / "a", test_ca, separator=":")
    with pytest.raises(RigError):
        DovecotServer(rig_root / "b", test_ca, storage="mbox")  # type: ignore[arg-type]
    server = DovecotServer(rig_root / "c", test_ca)
    with pytest.raises(RigError):
        _ = server.imap_port  # not started yet
    with pytest.raises(RigError):
        server.add_user("", "pw")


def test_a_taken_port_is_retried_with_new_ones(
    rig_root: Path, test_ca: RigCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real = process.free_ports
    offered = iter([[taken, real(1)[0]]])
    monkeypatch.setattr(process, "free_ports", lambda n, host: next(offered, None) or real(n))
    server = DovecotServer(rig_root / "s", test_ca)
    server.add_user("alice", "pw")
    try:
        with server:
            assert server.imap_port != taken
            _login(server, "alice", "pw").logout()
        assert "Address already in use" in server.log_tail(200)
    finally:
        squatter.close()


ODD_NAMES = ("weird:name", "#x@y#admin#", "a/b/c", "Ünïcode名", ".hidden", "sp ace")


def test_odd_usernames_get_safe_homes_and_log_in(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca)
    for name in ODD_NAMES:
        server.add_user(name, "pw:with:colons")
        home = server.user_home(name)
        assert home.parent == server.mail_root and not home.name.startswith(".")
    assert len({server.user_home(name) for name in ODD_NAMES}) == len(ODD_NAMES)
    with server:
        for name in ODD_NAMES:
            client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
            response = f"\0{name}\0pw:with:colons".encode()
            assert client.authenticate("PLAIN", lambda _c, r=response: r)[0] == "OK"
            client.append("INBOX", None, None, b"Subject: x\r\n\r\ny\r\n")
            client.logout()
            assert server.user_home(name).is_dir(), name


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=40).filter(lambda s: not set(s) & set("\r\n\0")))
def test_safe_dirname_is_one_injective_path_component(name: str) -> None:
    escaped = safe_dirname(name)
    assert "/" not in escaped and escaped not in (".", "..") and not escaped.startswith(".")
    assert escaped.isascii()
    assert safe_dirname(name + "x") != escaped


def test_max_userip_connections_is_enforced(rig_root: Path, test_ca: RigCA) -> None:
    server = DovecotServer(rig_root / "s", test_ca, max_userip_connections=2)
    server.add_user("alice", "pw")
    with server:
        first, second = _login(server, "alice", "pw"), _login(server, "alice", "pw")
        with pytest.raises(imaplib.IMAP4.error, match="Maximum number of connections"):
            _login(server, "alice", "pw")
        first.logout()
        second.logout()
