"""Test a source server step by step: DNS, TCP, TLS, greeting, CAPABILITY, STARTTLS, login.

The use case behind ``mailferry test-server`` and Exchange's
``Test-MigrationServerAvailability``; the CLI and the API render its report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mailferry.connection.auth import Credentials
from mailferry.connection.client import ImapClient
from mailferry.connection.options import ConnectOptions
from mailferry.errors import MailferryError


@dataclass(frozen=True)
class CheckStep:
    """One step: its name, how long it took, and what it found."""

    name: str
    seconds: float
    ok: bool
    detail: str


@dataclass
class ServerCheckReport:
    """All steps taken; ``error`` is set when a step failed (the last one)."""

    host: str
    port: int
    security: str
    steps: list[CheckStep] = field(default_factory=list)
    capabilities: tuple[str, ...] = ()
    error: MailferryError | None = None
    failed_step: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_STEP_ORDER = ("dns", "tcp", "tls", "greeting", "capabilities", "starttls", "login")


async def check_server(
    options: ConnectOptions, credentials: Credentials | None = None
) -> ServerCheckReport:
    """Connect and (optionally) log in, recording every step; never raises MailferryError."""
    report = ServerCheckReport(options.host, options.port, options.security.value)
    started = time.monotonic()

    def on_step(name: str, seconds: float, detail: str) -> None:
        nonlocal started
        step = "starttls" if name == "tls" and _has(report, "greeting") else name
        report.steps.append(CheckStep(step, seconds, True, detail))
        started = time.monotonic()

    client: ImapClient | None = None
    try:
        client = await ImapClient.connect(options, on_step)
        report.capabilities = tuple(sorted(client.capabilities))
        if credentials is not None:
            started = time.monotonic()
            await client.login(credentials)
            report.steps.append(
                CheckStep("login", time.monotonic() - started, True, f"as {credentials.username}")
            )
            report.capabilities = tuple(sorted(client.capabilities))
    except MailferryError as exc:
        report.error = exc
        report.failed_step = _next_step(report, options, credentials)
        report.steps.append(
            CheckStep(report.failed_step, time.monotonic() - started, False, str(exc))
        )
    finally:
        if client is not None:
            await client.logout()
    return report


def _has(report: ServerCheckReport, name: str) -> bool:
    return any(step.name == name for step in report.steps)


def _next_step(
    report: ServerCheckReport, options: ConnectOptions, credentials: Credentials | None
) -> str:
    """The step that was under way when the error struck."""
    done = {step.name for step in report.steps}
    for name in _STEP_ORDER:
        if name in done or not _applies(name, options, credentials):
            continue
        return name
    return "login"


def _applies(name: str, options: ConnectOptions, credentials: Credentials | None) -> bool:
    if name == "tls":
        return options.security.value == "Ssl"
    if name == "starttls":
        return options.security.value == "Tls"
    if name == "login":
        return credentials is not None
    return True
