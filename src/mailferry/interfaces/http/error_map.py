"""The one place where errors become HTTP statuses and JSON bodies.

``http_error(error)`` gives the status and ``{"code", "message", "details"}``: ``code`` is
the error class's stable ``error_code``, ``message`` the words the CLI prints
(``interfaces/error_words.describe``), ``details`` the facts an API client acts on.

- 404 ``NotFound``; 409 ``AlreadyExists``, ``InUse``, ``LimitReached``,
  ``ActionNotAllowed`` (and the user's), ``RemoveRefused``; 422 bad input
  (``InputError``: a refused CSV lists every problem in ``details["problems"]`` as
  ``{"row", "column", "code", "message"}``, ``row`` the spreadsheet row with the header
  as 1, or null for the whole file; an invalid setting lists its problems as
  ``{"message"}``); 400 any other refused request.
- 422 ``VerificationFailed``: the endpoint was not saved because its server did not pass
  the check; ``details["steps"]`` says which step failed. It is an answer about what the
  request gave (a host, a port, a security mode), not a gateway failure of this API, and
  the client may resend with verification skipped. 422 too for an MX check whose input
  (domain, expected host, nameserver) is bad.
- 502 a server (IMAP, SMTP, DNS) failed or refused while the request used it; 503 when
  that is transient (throttled, BYE, a locked mailbox); 504 when it timed out.
  ``details["transient"]`` says whether the same request may succeed later.
- 503 ``StateUnavailable`` (the state database is busy or unreachable: try again).
- 500 anything else: the service's own failures (a bug, the state database, the vault
  key, a worker) keep their code but get a generic message; an exception that is not a
  ``MailferryError`` is ``internal``, and its text never leaves the process.

401 and 403 come from ``auth``, FastAPI's own validation from ``handlers``.
"""

from __future__ import annotations

from typing import Any

from mailferry.errors import (
    ActionNotAllowed,
    AlreadyExists,
    BatchError,
    CommandTimeout,
    ConnectTimeout,
    CsvValidationError,
    FolderError,
    InputError,
    InUse,
    InvalidSetting,
    LimitReached,
    LocalProtocolError,
    MailferryError,
    MxCheckError,
    MxFailure,
    NotFound,
    RemoveRefused,
    RequestError,
    ServerError,
    ServiceError,
    StateUnavailable,
    UserActionNotAllowed,
    UserError,
    VerificationFailed,
    WorkerProcessExited,
)
from mailferry.interfaces.error_words import describe, mask_userinfo

INTERNAL_CODE = "internal"
INTERNAL_MESSAGE = "an internal error occurred; the server log has the details"
UNAVAILABLE_MESSAGE = "the state database is busy or unreachable; try again shortly"

_STATUSES: tuple[tuple[type[MailferryError], int], ...] = (
    (NotFound, 404),
    (AlreadyExists, 409),
    (InUse, 409),
    (LimitReached, 409),
    (ActionNotAllowed, 409),
    (RemoveRefused, 409),
    (InputError, 422),
    (RequestError, 400),
    (VerificationFailed, 422),
    (StateUnavailable, 503),
    (LocalProtocolError, 500),  # we were about to send something illegal: our bug
    (WorkerProcessExited, 500),
    (ServerError, 502),
    (UserError, 502),  # a login refused, a mailbox missing or full: the server said so
    (FolderError, 502),
    (BatchError, 500),
    (ServiceError, 500),
)
"""The first class an error is an instance of gives its status (the most specific first)."""


def http_error(error: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for ``error`` (never a secret, never internals)."""
    if not isinstance(error, MailferryError):
        return 500, _body(INTERNAL_CODE, INTERNAL_MESSAGE, {})
    status = status_of(error)
    if status == 500:
        return status, _body(error.error_code, INTERNAL_MESSAGE, {})
    if isinstance(error, StateUnavailable):
        return status, _body(error.error_code, UNAVAILABLE_MESSAGE, {"transient": True})
    details = _details(error)
    if status >= 500:
        details["transient"] = error.transient
    return status, _body(error.error_code, describe(error), details)


def status_of(error: MailferryError) -> int:
    """The HTTP status for a ``MailferryError`` (see the module docstring)."""
    if isinstance(error, MxCheckError) and error.failure is MxFailure.INVALID_INPUT:
        return 422
    status = next((s for kind, s in _STATUSES if isinstance(error, kind)), 500)
    if status == 502:
        if isinstance(error, ConnectTimeout | CommandTimeout) or _mx_timeout(error):
            return 504
        if error.transient:
            return 503
    return status


def _mx_timeout(error: MailferryError) -> bool:
    return isinstance(error, MxCheckError) and error.failure is MxFailure.TIMEOUT


def _body(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details}


def _details(error: MailferryError) -> dict[str, Any]:
    if isinstance(error, CsvValidationError):
        return {"source": error.source_name, "problems": _csv_problems(error)}
    if isinstance(error, InvalidSetting):
        return {"problems": [{"message": problem} for problem in error.problems]}
    if isinstance(error, NotFound | AlreadyExists):
        return {"kind": error.kind, "name": error.identity}
    if isinstance(error, ActionNotAllowed):
        return _refusal(error)
    if isinstance(error, VerificationFailed):
        return _verification(error.report)
    if isinstance(error, MxCheckError):
        return {"failure": error.failure.value, "domain": error.domain}
    return {}


def _csv_problems(error: CsvValidationError) -> list[dict[str, Any]]:
    return [
        {"row": p.row, "column": p.column, "code": str(p.code), "message": p.reason}
        for p in error.problems
    ]


def _refusal(error: ActionNotAllowed) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "batch": error.batch,
        "action": error.action.value,
        "status": error.status.value,
    }
    if isinstance(error, UserActionNotAllowed):
        facts |= {"user": error.email, "user_status": error.user_status.value}
    return facts


def _verification(report: object) -> dict[str, Any]:
    """The steps of the server check (``service/endpoints/server_check.ServerCheckReport``,
    read by its field names: the interfaces don't import the service's types)."""
    steps = [
        {
            "name": str(getattr(step, "name", "")),
            "ok": bool(getattr(step, "ok", False)),
            "seconds": round(float(getattr(step, "seconds", 0.0)), 3),
            "detail": mask_userinfo(str(getattr(step, "detail", ""))),
        }
        for step in getattr(report, "steps", ())
    ]
    failed = getattr(report, "failed_step", None)
    return {"failed_step": None if failed is None else str(failed), "steps": steps}
