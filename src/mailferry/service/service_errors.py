"""Errors of the migration service's use cases (the interfaces own the words' shape)."""

from __future__ import annotations

from mailferry.errors import MailferryError


class NotFound(MailferryError):
    """No endpoint, batch or migration user with that identity."""

    def __init__(self, kind: str, identity: str) -> None:
        super().__init__(f"{kind} {identity!r} was not found")
        self.kind = kind
        self.identity = identity


class AlreadyExists(MailferryError):
    def __init__(self, kind: str, identity: str) -> None:
        super().__init__(f"the {kind} {identity!r} already exists")
        self.kind = kind
        self.identity = identity


class InvalidSetting(MailferryError):
    """A parameter out of range or inconsistent with another (``problems`` lists all)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class InUse(MailferryError):
    """An endpoint a running batch uses can't be changed or removed."""


class VerificationFailed(MailferryError):
    """The endpoint's server could not be reached (``report`` says at which step)."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class RemoveRefused(MailferryError):
    """Remove without --force when the last sync is older than the MX switch."""
