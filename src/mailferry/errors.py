"""The one exception tree of mailferry.

Errors carry data; the interfaces (CLI, API) own the words shown to people.
Subclasses are arranged by blast radius, and ``transient`` says whether
retrying the same operation later may succeed::

    MailferryError
    ├── ProtocolError                 the IMAP conversation broke
    │   ├── LocalProtocolError        we tried to send something illegal (a bug)
    │   └── RemoteProtocolError       the server sent something we cannot parse
    │       └── ResponseTooLarge      a literal or line over our safety caps
    ├── ConnectionError_              the transport failed
    │   ├── ConnectFailed             DNS, refused, unreachable (``stage`` says which)
    │   ├── ConnectTimeout            no answer within the connect timeout
    │   ├── TlsError                  handshake or certificate verification failed
    │   ├── StartTlsUnavailable       Security=Tls but STARTTLS not offered
    │   ├── ConnectionLost            dropped mid-conversation (transient)
    │   └── ServerBye                 the server said BYE (transient unless fatal)
    ├── CommandTimeout                a command got no completion in time (transient)
    ├── CommandFailed                 tagged NO/BAD; carries status, code and text
    │   └── Throttled                 [THROTTLED]/[LIMIT]/"Request is throttled" (transient)
    ├── AuthenticationError           the login was refused (LOGINDISABLED, bad password)
    ├── MailboxNotFound               no such target mailbox, or an unusable name (fails the user)
    ├── QuotaExceeded                 the target mailbox is full (fails the user, not one message)
    ├── MailboxLocked                 another process keeps the target mailbox locked (transient)
    ├── FolderError                   one folder can't be read or written (skips the folder)
    ├── ContentFilterError            a -ContentFilter we can't use (syntax, ambiguous date)
    └── StateError                    the state database refused an operation
        ├── StateConflict             a uniqueness rule would be broken (a caller bug)
        ├── StateNotFound             a row the operation needs does not exist
        └── StateUnavailable          locked past the busy timeout, or unreachable (transient)
"""

from __future__ import annotations


class MailferryError(Exception):
    """Root of every error mailferry raises on purpose."""

    transient: bool = False


class ProtocolError(MailferryError):
    """The IMAP conversation itself broke."""


class LocalProtocolError(ProtocolError):
    """We were about to send something the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The server sent bytes that are not valid IMAP (or not in this state)."""


class ResponseTooLarge(RemoteProtocolError):
    """A line or literal from the server exceeded a configured safety cap."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} of {size} bytes exceeds the limit of {limit} bytes")
        self.what = what
        self.size = size
        self.limit = limit


class ConnectionError_(MailferryError):
    """The transport to a server failed."""


class ConnectFailed(ConnectionError_):
    """Could not establish the TCP connection (``stage``: ``dns`` or ``tcp``)."""

    def __init__(self, stage: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"{stage} failed for {host}:{port}: {reason}")
        self.stage = stage
        self.host = host
        self.port = port
        self.reason = reason


class ConnectTimeout(ConnectionError_):
    """No answer within the timeout while connecting (``stage`` names the step)."""

    transient = True

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(f"{stage} timed out after {seconds:g} s")
        self.stage = stage
        self.seconds = seconds


class TlsError(ConnectionError_):
    """TLS handshake failed; ``reason`` holds the verification error if any."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"TLS handshake failed: {reason}")
        self.reason = reason


class StartTlsUnavailable(ConnectionError_):
    """Security=Tls was asked for but the server does not offer STARTTLS."""

    def __init__(self) -> None:
        super().__init__("the server does not offer STARTTLS; refusing to continue in clear")


class ConnectionLost(ConnectionError_):
    """The connection dropped in the middle of the conversation."""

    transient = True


class ServerBye(ConnectionError_):
    """The server closed the session with an untagged BYE."""

    transient = True

    def __init__(self, text: str) -> None:
        super().__init__(f"server said BYE: {text}")
        self.text = text


class CommandTimeout(MailferryError):
    """A command did not complete within its timeout."""

    transient = True

    def __init__(self, command: str, seconds: float) -> None:
        super().__init__(f"{command} did not complete within {seconds:g} s")
        self.command = command
        self.seconds = seconds


class CommandFailed(MailferryError):
    """The server answered a command with NO or BAD."""

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

    def __init__(
        self, command: str, status: str, code: str | None, text: str, backoff_seconds: float | None
    ) -> None:
        super().__init__(command, status, code, text)
        self.backoff_seconds = backoff_seconds


class AuthenticationError(MailferryError):
    """The server refused the login (``reason`` is its own words, never the secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"authentication failed: {reason}")
        self.reason = reason


class StateError(MailferryError):
    """The state database refused an operation (``operation`` names the StateStore method)."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"state {operation}: {detail}")
        self.operation = operation
        self.detail = detail


class StateConflict(StateError):
    """A write would break a uniqueness rule (e.g. a second pair for one source UID)."""


class StateNotFound(StateError):
    """A row the operation needs is missing (unknown folder id, pair or mailbox)."""


class StateUnavailable(StateError):
    """The database stayed locked past the busy timeout, or could not be reached."""

    transient = True


class MailboxNotFound(MailferryError):
    """The mailbox of ``mailbox`` does not exist on the target, or no mailbox can have that name."""

    def __init__(self, mailbox: str, reason: str) -> None:
        super().__init__(f"mailbox {mailbox!r} not found: {reason}")
        self.mailbox = mailbox
        self.reason = reason


class QuotaExceeded(MailferryError):
    """The target refused to store more (``[OVERQUOTA]``, disk full): fails the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"quota exceeded: {reason}")
        self.reason = reason


class MailboxLocked(MailferryError):
    """Another live process held the target mailbox's lock past our wait: the whole
    job is retried later (skipping the folder would leave it behind until the next
    incremental sync)."""

    transient = True

    def __init__(self, lock: str, seconds: float) -> None:
        super().__init__(f"the mailbox is locked: another process held {lock} for {seconds:g} s")
        self.lock = lock
        self.seconds = seconds


class ContentFilterError(MailferryError):
    """A ``-ContentFilter`` (Received window) that can't be used; ``reason`` says what is
    wrong and where (the character or the word)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FolderError(MailferryError):
    """One folder can't be used (vanished, name not representable, I/O error): skip it."""

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(f"folder {folder!r}: {reason}")
        self.folder = folder
        self.reason = reason
