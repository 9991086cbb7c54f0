"""The session servers: listeners, TLS, logins of every kind, capabilities, quota."""

from __future__ import annotations

import imaplib
import ssl

import pytest

from mailferry.rig import DovecotServer, RigAccount, RigCA
from tests.conftest import MASTER_USER, STANDARD_USERS, MakeUser

REQUIRED_CAPABILITIES = {
    "LITERAL+",
    "MULTIAPPEND",
    "UIDPLUS",
    "CONDSTORE",
    "QRESYNC",
    "SPECIAL-USE",
    "ENABLE",
    "ID",
    "NAMESPACE",
    "COMPRESS=DEFLATE",
    "SASL-IR",
}


def _plain(server: DovecotServer) -> imaplib.IMAP4:
    return imaplib.IMAP4(server.host, server.imap_port, timeout=10)


def _capabilities(client: imaplib.IMAP4) -> set[str]:
    status, data = client.capability()
    assert status == "OK"
    return set(data[0].decode().upper().split())


@pytest.mark.parametrize("fixture", ["dovecot_source", "dovecot_target"])
def test_capabilities_before_and_after_login(request: pytest.FixtureRequest, fixture: str) -> None:
    server: DovecotServer = request.getfixturevalue(fixture)
    client = _plain(server)
    before = _capabilities(client)
    assert {"STARTTLS", "AUTH=PLAIN", "SASL-IR", "LITERAL+", "ID"} <= before
    assert "LOGINDISABLED" not in before
    alice = STANDARD_USERS[0]
    client.login(alice.name, alice.password)
    after = _capabilities(client)
    assert after >= REQUIRED_CAPABILITIES
    assert ("QUOTA" in after) == (fixture == "dovecot_target")
    client.logout()


def test_implicit_tls_verifies_against_the_test_ca(dovecot_source: DovecotServer) -> None:
    context = ssl.create_default_context(cafile=str(dovecot_source.ca_pem_path))
    client = imaplib.IMAP4_SSL(
        dovecot_source.host, dovecot_source.imaps_port, ssl_context=context, timeout=10
    )
    alice = STANDARD_USERS[0]
    assert client.login(alice.name, alice.password)[0] == "OK"
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    client.logout()


def test_starttls_verifies_against_the_test_ca(dovecot_source: DovecotServer) -> None:
    client = _plain(dovecot_source)
    client.starttls(ssl_context=dovecot_source.ssl_context())
    bob = STANDARD_USERS[1]
    assert client.login(bob.name, bob.password)[0] == "OK"
    client.logout()


def test_a_wrong_ca_is_rejected(dovecot_source: DovecotServer, wrong_ca: RigCA) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            dovecot_source.host,
            dovecot_source.imaps_port,
            ssl_context=wrong_ca.client_context(),
            timeout=10,
        )


def test_certificate_names_localhost_and_loopback(dovecot_source: DovecotServer) -> None:
    context = dovecot_source.ssl_context()
    for host in ("127.0.0.1", "localhost"):
        client = imaplib.IMAP4_SSL(host, dovecot_source.imaps_port, ssl_context=context)
        assert client.welcome.startswith(b"* OK")
        client.logout()


def test_wrong_password_is_refused(dovecot_source: DovecotServer) -> None:
    client = _plain(dovecot_source)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(STANDARD_USERS[0].name, "not-the-password")
    client.logout()


@pytest.mark.parametrize("fixture", ["dovecot_source", "dovecot_target"])
def test_master_user_login_with_separator(request: pytest.FixtureRequest, fixture: str) -> None:
    server: DovecotServer = request.getfixturevalue(fixture)
    client = _plain(server)
    status, _ = client.login(f"bob*{MASTER_USER.name}", MASTER_USER.password)
    assert status == "OK"
    client.select("INBOX")
    client.logout()
    assert "Master user logging in as bob" in server.log_tail(400)


@pytest.mark.parametrize("fixture", ["dovecot_source", "dovecot_target"])
def test_master_user_sasl_plain_with_authzid(request: pytest.FixtureRequest, fixture: str) -> None:
    server: DovecotServer = request.getfixturevalue(fixture)
    client = _plain(server)
    response = f"alice\0{MASTER_USER.name}\0{MASTER_USER.password}".encode()
    status, _ = client.authenticate("PLAIN", lambda _challenge: response)
    assert status == "OK"
    client.logout()


def test_master_password_does_not_work_for_a_wrong_master(dovecot_source: DovecotServer) -> None:
    client = _plain(dovecot_source)
    with pytest.raises(imaplib.IMAP4.error):
        client.login(f"alice*{MASTER_USER.name}", "wrong")
    client.logout()


@pytest.mark.parametrize("account", STANDARD_USERS[2:], ids=["address", "exchange", "mirapoint"])
def test_admin_login_strings_log_in_verbatim(
    dovecot_source: DovecotServer, account: RigAccount
) -> None:
    client = _plain(dovecot_source)
    assert client.login(account.name, account.password)[0] == "OK"
    client.logout()
    assert f"Login: user=<{account.name}>" in dovecot_source.log_tail(400)
    assert dovecot_source.user_home(account.name).parent == dovecot_source.mail_root


def test_users_added_while_running_and_password_changes(
    dovecot_source: DovecotServer, make_user: MakeUser
) -> None:
    account = make_user("changer", servers=[dovecot_source])
    client = _plain(dovecot_source)
    assert client.login(account.name, account.password)[0] == "OK"
    client.logout()
    dovecot_source.add_user(account.name, "a-new-password")
    client = _plain(dovecot_source)
    with pytest.raises(imaplib.IMAP4.error):
        client.login(account.name, account.password)
    client.logout()
    client = _plain(dovecot_source)
    assert client.login(account.name, "a-new-password")[0] == "OK"
    client.logout()


def test_make_user_creates_the_user_on_both_servers(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser
) -> None:
    first, second = make_user(), make_user()
    assert first.name != second.name
    for server in (dovecot_source, dovecot_target):
        client = _plain(server)
        assert client.login(second.name, second.password)[0] == "OK"
        client.logout()


def test_target_quota_answers_getquotaroot(
    dovecot_target: DovecotServer, make_user: MakeUser
) -> None:
    default_user = make_user("quota", servers=[dovecot_target])
    small_user = make_user("small", servers=[dovecot_target], quota_mb=2)
    limits = {}
    for account in (default_user, small_user):
        client = _plain(dovecot_target)
        client.login(account.name, account.password)
        status, _ = client._simple_command("GETQUOTAROOT", "INBOX")
        assert status == "OK"
        quota = client.untagged_responses.pop("QUOTA")[0].decode()
        limits[account.name] = int(quota.split("STORAGE")[1].split()[1].rstrip(")"))
        client.logout()
    assert limits == {default_user.name: 1024 * 1024, small_user.name: 2 * 1024}


def test_special_use_mailboxes_are_flagged(
    dovecot_source: DovecotServer, make_user: MakeUser
) -> None:
    account = make_user("special", servers=[dovecot_source])
    client = _plain(dovecot_source)
    client.login(account.name, account.password)
    for name in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert client.create(name)[0] == "OK"
    status, _ = client._simple_command("LIST", '""', "*", "RETURN", "(SPECIAL-USE)")
    assert status == "OK"
    listed = b"\n".join(client.untagged_responses.pop("LIST"))
    client.logout()
    for flag in (b"\\Sent", b"\\Drafts", b"\\Trash", b"\\Junk", b"\\Archive"):
        assert flag in listed


def test_doveadm_sees_the_users_mail(dovecot_source: DovecotServer, make_user: MakeUser) -> None:
    account = make_user("doveadm", servers=[dovecot_source])
    client = _plain(dovecot_source)
    client.login(account.name, account.password)
    client.append("INBOX", "(\\Seen)", None, b"Subject: hello\r\n\r\nhi\r\n")
    client.logout()
    out = dovecot_source.doveadm("mailbox", "status", "-u", account.name, "messages", "INBOX")
    assert out.stdout.strip() == "INBOX messages=1"
    dovecot_source.reset_user(account.name)
    assert not dovecot_source.user_home(account.name).exists()
    out = dovecot_source.doveadm("mailbox", "status", "-u", account.name, "messages", "INBOX")
    assert out.stdout.strip() == "INBOX messages=0"
