"""Errors of the test rig (real Dovecot and Courier servers, the corpus writer).

They hang off the one tree in :mod:`mailferry.errors` (under ``RequestError``: what a
test or benchmark asked of the rig could not be done), but live here because only the
rig, its tests and the benchmarks raise them::

    MailferryError
    └── RequestError
        └── RigError              rig_failed            the rig could not do what it was asked
            ├── DovecotStartError dovecot_start_failed  Dovecot did not come up (log tail attached)
            ├── CourierStartError courier_start_failed  Courier did not come up (log tail attached)
            └── DoveadmError      doveadm_failed        a doveadm command failed (stderr attached)
"""

from __future__ import annotations

from mailferry.errors import RequestError


class RigError(RequestError):
    """The test rig could not do what it was asked."""

    error_code = "rig_failed"


class DovecotStartError(RigError):
    """Dovecot did not start or never sent its greeting; ``log_tail`` says why."""

    error_code = "dovecot_start_failed"

    def __init__(self, reason: str, log_tail: str) -> None:
        super().__init__(f"{reason}\n--- dovecot log tail ---\n{log_tail}")
        self.reason = reason
        self.log_tail = log_tail


class CourierStartError(RigError):
    """Courier IMAP did not start or never sent its greeting; ``log_tail`` says why."""

    error_code = "courier_start_failed"

    def __init__(self, reason: str, log_tail: str) -> None:
        super().__init__(f"{reason}\n--- courier log tail ---\n{log_tail}")
        self.reason = reason
        self.log_tail = log_tail


class DoveadmError(RigError):
    """A doveadm command exited non-zero."""

    error_code = "doveadm_failed"

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str) -> None:
        super().__init__(f"doveadm {' '.join(args)} exited {returncode}: {stderr.strip()}")
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr
