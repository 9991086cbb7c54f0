"""The one exception tree of mailferry: every error it raises on purpose is defined here.

Errors carry data; the interfaces own the words (``interfaces/error_words.py``) and the
mapping to exit codes (CLI) and statuses (HTTP). The bases say what an error stops (its
blast radius); ``transient`` says whether the same work may succeed later (it is then
retried, see ``service/jobs/retry_policy.py``); ``error_code`` is a stable machine name
the API shows, never changed once published (``CommandFailed.code`` is the server's IMAP
response code, hence the longer name). One message never raises: the store returns a
``Rejected`` and the engine records a skipped item. (T) marks transient classes::

    MailferryError                    error
    ├── FolderError                   folder_failed          one folder is skipped, the rest go on
    │   └── PrepareFailed             folder_prepare_failed  ... once its counts are known
    ├── UserError                     user_failed            one migration user (mailbox) fails
    │   ├── AuthenticationError       authentication_failed  the login was refused
    │   │   ├── TokenRefused          token_refused          the server refused the OAuth2 token
    │   │   └── TokenRequestFailed    token_request_failed   the token endpoint gave no token
    │   ├── MailboxNotFound           mailbox_not_found      no such target mailbox / unusable name
    │   ├── QuotaExceeded             quota_exceeded         the target mailbox is full
    │   ├── MailboxLocked         (T) mailbox_locked         another process keeps it locked
    │   └── WorkerProcessExited       worker_exited          its worker process died
    ├── ServerError                   server_failed          a server (endpoint, SMTP, DNS) failed:
    │   │                                                    every user of that endpoint meets it
    │   ├── ProtocolError             protocol_error         the IMAP conversation broke
    │   │   ├── LocalProtocolError    local_protocol_error   we were to send something illegal (bug)
    │   │   └── RemoteProtocolError   remote_protocol_error  the server sent what we can't parse
    │   │       └── ResponseTooLarge  response_too_large     a line or literal over our caps
    │   ├── ConnectionError_          connection_failed      the transport failed
    │   │   ├── ConnectFailed         connect_failed         DNS, refused, unreachable (``stage``)
    │   │   ├── ConnectTimeout    (T) connect_timeout        no answer within the connect timeout
    │   │   ├── TlsError              tls_failed             handshake or certificate check failed
    │   │   ├── StartTlsUnavailable   starttls_unavailable   Security=Tls, STARTTLS not offered
    │   │   ├── ConnectionLost    (T) connection_lost        dropped mid-conversation
    │   │   └── ServerBye         (T) server_bye             the server said BYE
    │   ├── CommandTimeout        (T) command_timeout        a command got no completion in time
    │   ├── CommandFailed             command_failed         tagged NO/BAD (status, code, text)
    │   │   └── Throttled         (T) throttled              [THROTTLED]/[LIMIT]/"is throttled"
    │   ├── VerificationFailed        verification_failed    an endpoint's server check failed
    │   ├── NotificationError         notification_failed    a report could not be e-mailed
    │   └── MxCheckError         (T*) mx_check_failed        no MX answer (*Timeout, ServerFailure)
    ├── BatchError                    batch_failed           a batch or one-shot run as a whole
    │   ├── WorkerSetupError          worker_setup_failed    the run can't go to worker processes
    │   └── InvalidTransition         invalid_transition     a status change not in the tables (bug)
    ├── RequestError                  request_refused        what was asked is refused, nothing done
    │   ├── InputError                invalid_input          bad input; names what and where
    │   │   ├── InvalidSetting        invalid_setting        out of range or inconsistent
    │   │   ├── CsvValidationError    csv_rejected           a users CSV refused, by row
    │   │   ├── TargetSpecError       invalid_target         a --target that names no usable target
    │   │   └── ContentFilterError    invalid_content_filter a -ContentFilter we can't use
    │   ├── NotFound                  not_found              no endpoint/batch/user by that name
    │   ├── AlreadyExists             already_exists         one by that name exists
    │   ├── InUse                     in_use                 a running batch uses the endpoint
    │   ├── LimitReached              limit_reached          Set-MigrationConfig's cap is reached
    │   ├── ActionNotAllowed          action_not_allowed     the batch's status does not allow it
    │   │   └── UserActionNotAllowed  user_action_not_allowed  ... nor the user's
    │   └── RemoveRefused             remove_refused         data would be lost without --force
    └── ServiceError                  service_failed         its own database or key: all waits
        ├── StateError                state_failed           the state database refused an operation
        │   ├── StateConflict         state_conflict         a uniqueness rule would break (bug)
        │   ├── StateNotFound         state_not_found        a row the operation needs is missing
        │   └── StateUnavailable  (T) state_unavailable      locked past the timeout, or unreachable
        └── VaultError                vault_failed           the key or a ciphertext can't be used

``mailferry.rig.errors`` (test tooling) hangs ``RigError`` under ``RequestError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import ClassVar, Protocol


class MailferryError(Exception):
    """Root of every error mailferry raises on purpose."""

    transient: bool = False
    error_code: ClassVar[str] = "error"


# --- one folder ------------------------------------------------------------------------


class FolderError(MailferryError):
    """One folder can't be used (vanished, name not representable, I/O error): skip it."""

    error_code = "folder_failed"

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(f"folder {folder!r}: {reason}")
        self.folder = folder
        self.reason = reason


class PrepareFailed(FolderError):
    """A folder error once the folder's STATUS is known: its counts go in the result, so
    the user's totals show what the failed folder leaves behind."""

    error_code = "folder_prepare_failed"

    def __init__(self, error: FolderError, messages: int, done: int) -> None:
        super().__init__(error.folder, error.reason)
        self.messages = messages
        self.done = done


# --- one migration user (its mailbox) --------------------------------------------------


class UserError(MailferryError):
    """One migration user can't be migrated: it fails (or is retried later if transient)."""

    error_code = "user_failed"


class AuthenticationError(UserError):
    """The server refused the login (``reason`` is its own words, never the secret)."""

    error_code = "authentication_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"authentication failed: {reason}")
        self.reason = reason


class TokenRefused(AuthenticationError):
    """The server refused the session's OAuth2 token: at AUTHENTICATE XOAUTH2 (expired,
    revoked, not for this mailbox), or later, answering a command ``NO [EXPIRED]`` (RFC
    5530) or "AccessTokenExpired": a fresh token may be accepted."""

    error_code = "token_refused"


class TokenRequestFailed(AuthenticationError):
    """The OAuth2 token endpoint gave no access token (``reason``: its error code and
    description, never a secret); ``transient`` when it could not be reached or failed
    on its side (a timeout, 5xx, 429), not when it refused the client or the grant."""

    error_code = "token_request_failed"

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(f"OAuth2 token request: {reason}")
        self.transient = transient


class MailboxNotFound(UserError):
    """The mailbox of ``mailbox`` does not exist on the target, or no mailbox can have that name."""

    error_code = "mailbox_not_found"

    def __init__(self, mailbox: str, reason: str) -> None:
        super().__init__(f"mailbox {mailbox!r} not found: {reason}")
        self.mailbox = mailbox
        self.reason = reason


class QuotaExceeded(UserError):
    """The target refused to store more (``[OVERQUOTA]``, disk full): fails the user."""

    error_code = "quota_exceeded"

    def __init__(self, reason: str) -> None:
        super().__init__(f"quota exceeded: {reason}")
        self.reason = reason


class MailboxLocked(UserError):
    """Another live process held the target mailbox's lock past our wait: the whole
    job is retried later (skipping the folder would leave it behind until the next
    incremental sync)."""

    transient = True
    error_code = "mailbox_locked"

    def __init__(self, lock: str, seconds: float) -> None:
        super().__init__(f"the mailbox is locked: another process held {lock} for {seconds:g} s")
        self.lock = lock
        self.seconds = seconds


class WorkerProcessExited(UserError):
    """A worker process ended while it was migrating a user."""

    error_code = "worker_exited"


# --- a server: the endpoint's IMAP server, the SMTP relay, DNS -------------------------


class ServerError(MailferryError):
    """A server failed or refused; every user whose sessions go to it meets the same."""

    error_code = "server_failed"


class ProtocolError(ServerError):
    """The IMAP conversation itself broke."""

    error_code = "protocol_error"


class LocalProtocolError(ProtocolError):
    """We were about to send something the protocol does not allow."""

    error_code = "local_protocol_error"


class RemoteProtocolError(ProtocolError):
    """The server sent bytes that are not valid IMAP (or not in this state)."""

    error_code = "remote_protocol_error"


class ResponseTooLarge(RemoteProtocolError):
    """A line or literal from the server exceeded a configured safety cap."""

    error_code = "response_too_large"

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} of {size} bytes exceeds the limit of {limit} bytes")
        self.what = what
        self.size = size
        self.limit = limit


class ConnectionError_(ServerError):
    """The transport to a server failed."""

    error_code = "connection_failed"


class ConnectFailed(ConnectionError_):
    """Could not establish the TCP connection (``stage``: ``dns`` or ``tcp``)."""

    error_code = "connect_failed"

    def __init__(self, stage: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"{stage} failed for {host}:{port}: {reason}")
        self.stage = stage
        self.host = host
        self.port = port
        self.reason = reason


class ConnectTimeout(ConnectionError_):
    """No answer within the timeout while connecting (``stage`` names the step)."""

    transient = True
    error_code = "connect_timeout"

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(f"{stage} timed out after {seconds:g} s")
        self.stage = stage
        self.seconds = seconds


class TlsError(ConnectionError_):
    """TLS handshake failed; ``reason`` holds the verification error if any."""

    error_code = "tls_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"TLS handshake failed: {reason}")
        self.reason = reason


class StartTlsUnavailable(ConnectionError_):
    """Security=Tls was asked for but the server does not offer STARTTLS."""

    error_code = "starttls_unavailable"

    def __init__(self) -> None:
        super().__init__("the server does not offer STARTTLS; refusing to continue in clear")


class ConnectionLost(ConnectionError_):
    """The connection dropped in the middle of the conversation."""

    transient = True
    error_code = "connection_lost"


class ServerBye(ConnectionError_):
    """The server closed the session with an untagged BYE."""

    transient = True
    error_code = "server_bye"

    def __init__(self, text: str) -> None:
        super().__init__(f"server said BYE: {text}")
        self.text = text


class CommandTimeout(ServerError):
    """A command did not complete within its timeout."""

    transient = True
    error_code = "command_timeout"

    def __init__(self, command: str, seconds: float) -> None:
        super().__init__(f"{command} did not complete within {seconds:g} s")
        self.command = command
        self.seconds = seconds


class CommandFailed(ServerError):
    """The server answered a command with NO or BAD (``code``: its IMAP response code)."""

    error_code = "command_failed"

    def __init__(self, command: str, status: str, code: str | None, text: str) -> None:
        shown = f"[{code}] " if code else ""
        super().__init__(f"{command} failed: {status} {shown}{text}")
        self.command = command
        self.status = status
        self.code = code
        self.text = text


class Throttled(CommandFailed):
    """The server asks us to slow down; ``backoff_seconds`` is its suggestion."""

    transient = True
    error_code = "throttled"

    def __init__(
        self, command: str, status: str, code: str | None, text: str, backoff_seconds: float | None
    ) -> None:
        super().__init__(command, status, code, text)
        self.backoff_seconds = backoff_seconds


class VerificationFailed(ServerError):
    """The endpoint's server could not be reached (``report`` says at which step)."""

    error_code = "verification_failed"

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class NotificationError(ServerError):
    """A report could not be e-mailed (``server`` is host:port, ``step`` what failed)."""

    error_code = "notification_failed"

    def __init__(self, server: str, step: str, reason: str) -> None:
        super().__init__(f"SMTP server {server}: {step} failed: {reason}")
        self.server = server
        self.step = step
        self.reason = reason


class MxFailure(StrEnum):
    """Why an MX check could not give an answer."""

    INVALID_INPUT = "InvalidInput"  # the domain, an expected host or a nameserver is bad
    NO_SUCH_DOMAIN = "NoSuchDomain"  # NXDOMAIN
    NO_MAIL_HOST = "NoMailHost"  # no MX and no A/AAAA: mail can't be delivered at all
    TIMEOUT = "Timeout"  # no nameserver answered in time
    SERVER_FAILURE = "ServerFailure"  # SERVFAIL
    REFUSED = "Refused"  # the nameservers refused the query
    NO_NAMESERVERS = "NoNameservers"  # the system has no resolver configured
    LOOKUP_FAILED = "LookupFailed"  # anything else the resolver reported


class MxCheckError(ServerError):
    """The MX check got no answer; ``failure`` says why and the message says it in words."""

    error_code = "mx_check_failed"

    def __init__(
        self,
        failure: MxFailure,
        domain: str,
        reason: str,
        *,
        nameservers: Sequence[str] = (),
        seconds: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.failure = failure
        self.domain = domain
        self.reason = reason
        self.nameservers = tuple(nameservers)
        self.seconds = seconds
        self.transient = failure in (MxFailure.TIMEOUT, MxFailure.SERVER_FAILURE)


# --- a batch or a one-shot run as a whole ----------------------------------------------


class BatchError(MailferryError):
    """A batch or a one-shot run can't go on as a whole."""

    error_code = "batch_failed"


class WorkerSetupError(BatchError):
    """The request can't be handed to worker processes (something in it can't be pickled)."""

    error_code = "worker_setup_failed"


class InvalidTransition(BatchError):
    """A status change not in the transition tables (a bug in the service)."""

    error_code = "invalid_transition"


# --- a request of the administrator ----------------------------------------------------


class RequestError(MailferryError):
    """What the administrator asked can't be done; nothing was changed."""

    error_code = "request_refused"


class InputError(RequestError):
    """Bad input: a setting, file or value that can't be used (the message says where)."""

    error_code = "invalid_input"


class InvalidSetting(InputError):
    """A parameter out of range or inconsistent with another (``problems`` lists all)."""

    error_code = "invalid_setting"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class RowProblem(Protocol):
    """One finding in an uploaded file (``service/users_csv/problems.CsvProblem``)."""

    @property
    def row(self) -> int | None: ...  # the spreadsheet row (header = 1); None: the file
    @property
    def column(self) -> str | None: ...
    @property
    def code(self) -> str: ...
    @property
    def reason(self) -> str: ...  # a sentence naming the row and column itself


SHOWN_IN_MESSAGE = 10
"""How many reasons a CsvValidationError's message lists before "... and N more"."""


class CsvValidationError(InputError):
    """The CSV was refused; ``problems`` lists every finding (whole-file ones first, then
    by row), not just the first."""

    error_code = "csv_rejected"

    def __init__(self, source_name: str, problems: Iterable[RowProblem]) -> None:
        self.source_name = source_name
        self.problems = tuple(sorted(problems, key=lambda p: -1 if p.row is None else p.row))
        super().__init__(_csv_summary(source_name, self.problems))


def _csv_summary(source_name: str, problems: tuple[RowProblem, ...]) -> str:
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    lines = [f"{source_name} was not imported: {count} {noun}."]
    lines += [f"  {p.reason}" for p in problems[:SHOWN_IN_MESSAGE]]
    if count > SHOWN_IN_MESSAGE:
        lines.append(f"  ... and {count - SHOWN_IN_MESSAGE} more.")
    return "\n".join(lines)


class TargetSpecError(InputError):
    """A ``--target`` value that names no target we can write to."""

    error_code = "invalid_target"


class ContentFilterError(InputError):
    """A ``-ContentFilter`` (Received window) that can't be used; ``reason`` says what is
    wrong and where (the character or the word)."""

    error_code = "invalid_content_filter"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(RequestError):
    """No endpoint, batch, migration user or token with that identity."""

    error_code = "not_found"

    def __init__(self, kind: str, identity: str) -> None:
        super().__init__(f"{kind} {identity!r} was not found")
        self.kind = kind
        self.identity = identity


class AlreadyExists(RequestError):
    """An endpoint, batch or token of that name exists already."""

    error_code = "already_exists"

    def __init__(self, kind: str, identity: str) -> None:
        super().__init__(f"the {kind} {identity!r} already exists")
        self.kind = kind
        self.identity = identity


class InUse(RequestError):
    """An endpoint a running batch uses can't be changed or removed."""

    error_code = "in_use"


class LimitReached(RequestError):
    """A service-wide cap (``Set-MigrationConfig -MaxNumberOfBatches``) is reached."""

    error_code = "limit_reached"


class ActionNotAllowed(RequestError):
    """A batch action its current status does not allow; ``reason`` says why (the words
    come from ``service/statuses.py``), ``hint`` what to do instead."""

    error_code = "action_not_allowed"

    def __init__(
        self, batch: str, action: StrEnum, status: StrEnum, reason: str, hint: str = ""
    ) -> None:
        text = f"can't {action.value} batch {batch!r}: {reason} (status {status.value})"
        self._init(text + (f"; {hint}" if hint else ""), batch, action, status)

    def _init(self, text: str, batch: str, action: StrEnum, status: StrEnum) -> None:
        MailferryError.__init__(self, text)
        self.batch = batch
        self.action = action
        self.status = status


class UserActionNotAllowed(ActionNotAllowed):
    """Stop-, Start- or Remove-MigrationUser refused by the user's status or its batch's
    (the message says which, and what to do instead)."""

    error_code = "user_action_not_allowed"

    def __init__(
        self,
        email: str,
        action: StrEnum,
        batch: str,
        batch_status: StrEnum,
        user_status: StrEnum,
        reason: str,
    ) -> None:
        self._init(f"can't {action.value} user {email}: {reason}", batch, action, batch_status)
        self.email = email
        self.user_status = user_status


class RemoveRefused(RequestError):
    """Remove without --force when the last sync is older than the MX switch."""

    error_code = "remove_refused"


# --- the service's own store: its database and its key ---------------------------------


class ServiceError(MailferryError):
    """The service can't use its own store (database, key): every batch waits."""

    error_code = "service_failed"


class StateError(ServiceError):
    """The state database refused an operation (``operation`` names the StateStore method)."""

    error_code = "state_failed"

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"state {operation}: {detail}")
        self.operation = operation
        self.detail = detail


class StateConflict(StateError):
    """A write would break a uniqueness rule (e.g. a second pair for one source UID)."""

    error_code = "state_conflict"


class StateNotFound(StateError):
    """A row the operation needs is missing (unknown folder id, pair or mailbox)."""

    error_code = "state_not_found"


class StateUnavailable(StateError):
    """The database stayed locked past the busy timeout, or could not be reached."""

    transient = True
    error_code = "state_unavailable"


class VaultError(ServiceError):
    """A key or a ciphertext can't be used (wrong key, corrupt data, unsafe key file)."""

    error_code = "vault_failed"
