"""E-mailed reports, delivered to a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailferry.errors import MailferryError, NotificationError
from mailferry.rig.certs import RigCA
from mailferry.service.reports.notifications import SmtpSettings, send_report

CSV = b'EmailAddress,Subject\r\n"a@x.org","=HYPERLINK(""x"")"\r\n\xef\xbb\xbfb,\r\n'
JSON = '{"Batch": {"Name": "Bølge"}}'.encode()
PASSWORD = "s3cret-Pässword"


@dataclass
class Inbox:
    """Collects what the server received, and which AUTH mechanisms succeeded."""

    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    password: str = PASSWORD

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticator(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data == (b"reporter", self.password.encode())
        if ok:
            self.logins.append((mechanism, data.login.decode()))
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    def message(self) -> EmailMessage:
        assert len(self.envelopes) == 1
        parsed = email.message_from_bytes(self.envelopes[0].content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


Serve = Callable[..., tuple[Inbox, int]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start an SMTP server (Controller keyword arguments pass through); stops them all."""
    controllers: list[Controller] = []

    def start(**kwargs: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(password=kwargs.pop("password", PASSWORD)), free_port()
        if kwargs.pop("with_auth", False):
            kwargs["authenticator"] = inbox.authenticator
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs
        )
        controller.start()
        controllers.append(controller)
        return inbox, port

    yield start
    for controller in controllers:
        controller.stop()


def send(settings: SmtpSettings, recipients: tuple[str, ...] = ("admin@contoso.edu",)) -> None:
    attachments = [("Wave1.csv", "text/csv", CSV), ("Wave1.json", "application/json", JSON)]
    asyncio.run(send_report(settings, recipients, 'Batch "Wave1" synced', "Body\n", attachments))


def test_report_delivered_with_headers_text_and_exact_attachments(serve: Serve) -> None:
    inbox, port = serve()
    recipients = ("admin@contoso.edu", "helpdesk@contoso.edu")
    send(SmtpSettings("127.0.0.1", port, sender="ferry@contoso.edu"), recipients)
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "ferry@contoso.edu"
    assert envelope.rcpt_tos == list(recipients)
    message = inbox.message()
    assert message["Subject"] == 'Batch "Wave1" synced'
    assert message["From"] == "ferry@contoso.edu"
    assert message["To"] == "admin@contoso.edu, helpdesk@contoso.edu"
    assert message["Date"] is not None
    assert message["Message-ID"].endswith("@contoso.edu>")
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Body\n"  # CRLF on the wire
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(parts) == {"Wave1.csv", "Wave1.json"}
    assert parts["Wave1.csv"].get_content_type() == "text/csv"
    assert parts["Wave1.csv"].get_payload(decode=True) == CSV
    assert parts["Wave1.json"].get_content_type() == "application/json"
    assert parts["Wave1.json"].get_payload(decode=True) == JSON


def test_subject_line_breaks_cannot_inject_headers(serve: Serve) -> None:
    inbox, port = serve()
    settings = SmtpSettings("127.0.0.1", port)
    asyncio.run(send_report(settings, ["a@x.org"], "Hi\r\nBcc: evil@x.org", "t", []))
    message = inbox.message()
    assert message["Subject"] == "Hi Bcc: evil@x.org"
    assert message["Bcc"] is None
    assert inbox.envelopes[0].rcpt_tos == ["a@x.org"]


@pytest.mark.parametrize("password", [PASSWORD, "ascii-only-pw"])
@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_auth_mechanisms(serve: Serve, mechanism: str, password: str) -> None:
    # smtplib alone can't send a non-ASCII password (CPython #73936): we send UTF-8.
    other = "PLAIN" if mechanism == "LOGIN" else "LOGIN"
    inbox, port = serve(
        with_auth=True,
        password=password,
        auth_require_tls=False,
        auth_exclude_mechanism=[other],
    )
    send(SmtpSettings("127.0.0.1", port, username="reporter", password=password))
    assert inbox.logins == [(mechanism, "reporter")]
    assert len(inbox.envelopes) == 1


@pytest.mark.parametrize("wrong", ["wrong-" + PASSWORD, "wrong-ascii"])
def test_wrong_password_is_reported_without_the_password(serve: Serve, wrong: str) -> None:
    inbox, port = serve(with_auth=True, auth_require_tls=False)
    settings = SmtpSettings("127.0.0.1", port, username="reporter", password=wrong)
    with pytest.raises(NotificationError) as info:
        send(settings)
    text = str(info.value)
    assert f"127.0.0.1:{port}" in text
    assert "authentication failed" in text and "535" in text
    assert wrong not in text and wrong not in repr(settings)
    assert inbox.envelopes == []


def test_connection_refused_names_host_and_port() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(NotificationError) as info:
        send(SmtpSettings("127.0.0.1", port, timeout=5))
    assert isinstance(info.value, MailferryError)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert info.value.step == "connect"
    assert "refused" in str(info.value).lower()


def _server_context(test_ca: RigCA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def test_starttls_with_private_ca_and_auth(serve: Serve, test_ca: RigCA) -> None:
    inbox, port = serve(with_auth=True, tls_context=_server_context(test_ca), require_starttls=True)
    settings = SmtpSettings(
        "127.0.0.1",
        port,
        security="Tls",
        username="reporter",
        password=PASSWORD,
        ca_file=str(test_ca.ca_pem_path),
    )
    send(settings)  # auth_require_tls is on: AUTH only works after STARTTLS
    assert inbox.logins and len(inbox.envelopes) == 1


def test_implicit_ssl(serve: Serve, test_ca: RigCA) -> None:
    inbox, port = serve(ssl_context=_server_context(test_ca))
    send(SmtpSettings("127.0.0.1", port, security="Ssl", ca_file=str(test_ca.ca_pem_path)))
    assert len(inbox.envelopes) == 1


def test_untrusted_certificate_is_refused(serve: Serve, test_ca: RigCA) -> None:
    inbox, port = serve(tls_context=_server_context(test_ca), require_starttls=True)
    with pytest.raises(NotificationError) as info:
        send(SmtpSettings("127.0.0.1", port, security="Tls"))  # no ca_file: system store
    assert info.value.step == "TLS"
    assert "certificate invalid" in str(info.value)
    assert inbox.envelopes == []


def test_starttls_not_offered(serve: Serve) -> None:
    inbox, port = serve()
    with pytest.raises(NotificationError) as info:
        send(SmtpSettings("127.0.0.1", port, security="Tls"))
    assert info.value.step == "STARTTLS"
    assert f"127.0.0.1:{port}" in str(info.value)
    assert inbox.envelopes == []


def test_refused_recipient(serve: Serve) -> None:
    class Picky(Inbox):
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address.startswith("nobody@"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    port = free_port()
    controller = Controller(Picky(), hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        with pytest.raises(NotificationError) as info:
            send(SmtpSettings("127.0.0.1", port), ("nobody@x.org",))
        assert "nobody@x.org: 550 5.1.1 no such user" in str(info.value)
        with pytest.raises(NotificationError) as info:
            send(SmtpSettings("127.0.0.1", port), ("nobody@x.org", "admin@x.org"))
        assert "some recipients refused" in str(info.value)
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("settings", "recipients", "reason"),
    [
        (SmtpSettings("127.0.0.1", security="StartTls"), ("a@x.org",), "unknown security"),
        (SmtpSettings("127.0.0.1"), (), "no recipients"),
        (SmtpSettings("127.0.0.1"), ("a@x.org\r\nRCPT TO:<b@x.org>",), "invalid address"),
        (SmtpSettings("127.0.0.1", sender=" "), ("a@x.org",), "invalid address"),
    ],
)
def test_bad_configuration_fails_before_connecting(
    settings: SmtpSettings, recipients: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(NotificationError) as info:
        send(settings, recipients)
    assert info.value.step == "configuration"
    assert reason in str(info.value)


def test_silent_server_times_out() -> None:
    with socket.socket() as listener:  # accepts in the kernel, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(NotificationError) as info:
            send(SmtpSettings("127.0.0.1", port, timeout=0.3))
    assert info.value.step == "connect"
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "timed out after 0.3 s" in str(info.value)
