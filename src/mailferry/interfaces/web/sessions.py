"""Console sessions, kept in this process's memory (a restart signs everyone out).

A session is a random 256-bit id in an HttpOnly, SameSite=Strict cookie (Secure over
TLS); the server keeps who signed in, how (a token or an administrator's password),
whether the token is read-only, the session's CSRF token, and a few flash messages.
Every ``RECHECK_SECONDS`` the sign-in is checked again (a revoked token, a removed
administrator: the session ends). Sessions end after ``IDLE_SECONDS`` without a
request, or ``MAX_AGE_SECONDS`` after sign-in; at most ``MAX_SESSIONS`` are kept (the
least recently used go first).
"""

from __future__ import annotations

import collections
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

IDLE_SECONDS = 2 * 3600.0
MAX_AGE_SECONDS = 12 * 3600.0
RECHECK_SECONDS = 30.0
MAX_SESSIONS = 1000
MAX_FLASHES = 5

Kind = Literal["token", "admin"]


@dataclass
class Session:
    id: str = field(repr=False)
    who: str
    kind: Kind
    read_only: bool
    csrf: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)  # the token, to check it again
    created: float = 0.0
    seen: float = 0.0
    checked: float = 0.0
    flashes: list[tuple[str, str]] = field(default_factory=list)

    def flash(self, level: str, text: str) -> None:
        """A message for the next page shown (``level``: ok | error)."""
        self.flashes = [*self.flashes, (level, text)][-MAX_FLASHES:]

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionStore:
    """Thread-safe: routes run in FastAPI's thread pool."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: collections.OrderedDict[str, Session] = collections.OrderedDict()

    def new(self, who: str, kind: Kind, *, read_only: bool, secret: str | None = None) -> Session:
        now = self._clock()
        made = Session(
            id=secrets.token_urlsafe(32),
            who=who,
            kind=kind,
            read_only=read_only,
            csrf=secrets.token_urlsafe(32),
            secret=secret,
            created=now,
            seen=now,
            checked=now,
        )
        with self._lock:
            self._sessions[made.id] = made
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return made

    def get(self, session_id: str | None) -> Session | None:
        """The live session of that id (its idle clock restarted), or None."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if now - found.seen > IDLE_SECONDS or now - found.created > MAX_AGE_SECONDS:
                del self._sessions[session_id]
                return None
            found.seen = now
            self._sessions.move_to_end(session_id)
            return found

    def due_for_check(self, session: Session) -> bool:
        now = self._clock()
        if now - session.checked < RECHECK_SECONDS:
            return False
        session.checked = now
        return True

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
