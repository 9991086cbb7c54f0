"""Whether a failed job is retried, and when: the one place that decides.

Throttling signals are obeyed first: ``[THROTTLED]``/``[LIMIT]`` answers and Exchange's
BYE "Request is throttled. Suggested Backoff Time: N ms" wait the suggested time; a
server that refuses more connections ("Maximum number of connections", ``[UNAVAILABLE]``)
is retried like other transient errors, with exponential backoff. Anything else not
marked ``transient`` (wrong password, no target mailbox, quota, DNS name not found)
fails the user at once with its reason.
"""

from __future__ import annotations

from mailferry.connection.core import suggested_backoff
from mailferry.errors import (
    AuthenticationError,
    ConnectFailed,
    ConnectTimeout,
    MailferryError,
    ServerBye,
    Throttled,
)

_BUSY_WORDS = ("[unavailable]", "[limit]", "[throttled]", "too many", "maximum number of")


def retry_delay(
    error: MailferryError, attempts: int, *, base: float, ceiling: float, minimum: float = 1.0
) -> float | None:
    """Seconds to wait before attempt ``attempts + 1``; None when not worth retrying.

    A server's suggested time is obeyed, but never less than ``minimum``.
    """
    suggested = _suggested(error)
    if suggested is not None:
        return max(suggested, minimum)
    if not is_transient(error):
        return None
    return float(min(ceiling, base * 2 ** max(0, attempts - 1)))


def is_transient(error: MailferryError) -> bool:
    if error.transient or isinstance(error, ConnectTimeout):
        return True
    if isinstance(error, ConnectFailed):
        return error.stage != "dns"  # refused/unreachable: a restarting server comes back
    if isinstance(error, AuthenticationError):
        reason = error.reason.lower()
        return any(word in reason for word in _BUSY_WORDS)
    return False


def _suggested(error: MailferryError) -> float | None:
    if isinstance(error, Throttled) and error.backoff_seconds:
        return error.backoff_seconds
    if isinstance(error, ServerBye):
        return suggested_backoff(error.text)
    return None
