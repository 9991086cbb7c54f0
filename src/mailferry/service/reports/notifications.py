"""E-mailed batch reports over SMTP (stdlib ``smtplib``, run in a worker thread).

Security follows the endpoints' vocabulary: ``None`` (plain SMTP), ``Ssl`` (implicit
TLS, usually port 465) and ``Tls`` (STARTTLS, refused if the server doesn't offer it).
Certificates are verified against the system store plus ``ca_file``. Every failure is
a ``NotificationError`` naming the server and the step; the password never appears.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from mailferry.errors import NotificationError

SECURITIES = ("None", "Ssl", "Tls")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: str = "None"  # "None" | "Ssl" | "Tls" (STARTTLS)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "mailferry@localhost"
    timeout: float = 30
    ca_file: str | None = None

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


async def send_report(
    settings: SmtpSettings,
    recipients: Sequence[str],
    subject: str,
    text: str,
    attachments: Sequence[tuple[str, str, bytes]],
) -> None:
    """Send ``text`` with ``attachments`` (filename, MIME type, data) to ``recipients``."""
    _check(settings, recipients)
    message = build_message(settings.sender, recipients, subject, text, attachments)
    await asyncio.to_thread(_deliver, settings, list(recipients), message)


def build_message(
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    attachments: Sequence[tuple[str, str, bytes]],
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # no header injection via CR/LF
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.formatdate(usegmt=True)
    # An explicit domain: make_msgid's default would look up this host's FQDN in DNS.
    message["Message-ID"] = email.utils.make_msgid("mailferry", _domain(sender))
    message.set_content(text)
    for filename, mime_type, data in attachments:
        maintype, _, subtype = mime_type.partition("/")
        message.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    return message


def _check(settings: SmtpSettings, recipients: Sequence[str]) -> None:
    if settings.security not in SECURITIES:
        raise NotificationError(
            settings.server, "configuration", f"unknown security {settings.security!r}"
        )
    if not recipients:
        raise NotificationError(settings.server, "configuration", "no recipients")
    for address in (settings.sender, *recipients):
        if not address.strip() or any(c in address for c in "\r\n"):
            raise NotificationError(
                settings.server, "configuration", f"invalid address {address!r}"
            )


def _domain(address: str) -> str:
    _, _, domain = email.utils.parseaddr(address)[1].rpartition("@")
    return domain or "localhost"


def _deliver(settings: SmtpSettings, recipients: list[str], message: EmailMessage) -> None:
    step = "connect"
    try:
        with _connect(settings) as smtp:
            if settings.security == "Tls":
                step = "STARTTLS"
                smtp.starttls(context=_tls_context(settings))
            if settings.username is not None:
                step = "authentication"
                _login(smtp, settings.username, settings.password or "")
            step = "sending"
            refused = smtp.send_message(message, settings.sender, recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _error(settings, "sending", f"every recipient refused: {_refusals(exc)}") from None
    except smtplib.SMTPResponseException as exc:
        raise _error(settings, step, _response(exc.smtp_code, exc.smtp_error)) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise _error(settings, step, f"not supported by the server ({exc})") from None
    except ssl.SSLCertVerificationError as exc:
        raise _error(settings, "TLS", f"certificate invalid: {exc.verify_message}") from None
    except ssl.SSLError as exc:
        raise _error(settings, "TLS", exc.reason or str(exc)) from None
    except TimeoutError:
        raise _error(settings, step, _timed_out(settings)) from None
    except smtplib.SMTPException as exc:
        # smtplib turns a read timeout into SMTPServerDisconnected; say what happened.
        timed_out = isinstance(exc.__context__, TimeoutError)
        reason = _timed_out(settings) if timed_out else str(exc) or type(exc).__name__
        raise _error(settings, step, reason) from None
    except OSError as exc:
        raise _error(settings, step, exc.strerror or str(exc)) from None
    if refused:
        raise _error(settings, "sending", f"some recipients refused: {_refusals_of(refused)}")


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """``smtp.login``, except that non-ASCII credentials are sent as UTF-8.

    smtplib encodes AUTH data as ASCII and fails on any other password (CPython issue
    #73936); RFC 4616 says PLAIN carries UTF-8, and servers read LOGIN the same way.
    """
    if (username + password).isascii():
        smtp.login(username, password)
        return
    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" in offered:
        code, text = smtp.docmd("AUTH", "PLAIN " + _b64(f"\0{username}\0{password}"))
    elif "LOGIN" in offered:
        code, text = smtp.docmd("AUTH", "LOGIN")
        if code == 334:
            code, text = smtp.docmd(_b64(username))
        if code == 334:
            code, text = smtp.docmd(_b64(password))
    else:
        raise smtplib.SMTPNotSupportedError("no AUTH PLAIN or LOGIN for non-ASCII credentials")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, text)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "Ssl":
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=_tls_context(settings)
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file:
        context.load_verify_locations(cafile=settings.ca_file)
    return context


def _error(settings: SmtpSettings, step: str, reason: str) -> NotificationError:
    if settings.password:
        reason = reason.replace(settings.password, "***")
    return NotificationError(settings.server, step, reason)


def _timed_out(settings: SmtpSettings) -> str:
    return f"no answer, timed out after {settings.timeout:g} s"


def _response(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(shown.split())}"


def _refusals(exc: smtplib.SMTPRecipientsRefused) -> str:
    return _refusals_of(exc.recipients)


def _refusals_of(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt}: {_response(code, text)}" for rcpt, (code, text) in refused.items())
