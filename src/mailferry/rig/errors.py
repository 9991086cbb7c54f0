"""Errors of the test rig (real Dovecot servers and the corpus writer).

They hang off :class:`mailferry.errors.MailferryError` like every other error, but
live here because only the rig, its tests and the benchmarks raise them::

    MailferryError
    └── RigError                  the test rig could not do what it was asked
        ├── DovecotStartError     a Dovecot instance did not come up (log tail attached)
        └── DoveadmError          a doveadm command failed (stderr attached)
"""

from __future__ import annotations

from mailferry.errors import MailferryError


class RigError(MailferryError):
    """The test rig could not do what it was asked."""


class DovecotStartError(RigError):
    """Dovecot did not start or never sent its greeting; ``log_tail`` says why."""

    def __init__(self, reason: str, log_tail: str) -> None:
        super().__init__(f"{reason}\n--- dovecot log tail ---\n{log_tail}")
        self.reason = reason
        self.log_tail = log_tail


class DoveadmError(RigError):
    """A doveadm command exited non-zero."""

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str) -> None:
        super().__init__(f"doveadm {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr
