"""What the fault proxy should do next, and what it has done: faults armed, counters.

One ``FaultPlan`` is shared by every connection of a proxy (faults count across
connections: ``throttle("APPEND", 3)`` answers the next three APPENDs, whichever
connection sends them). The test thread arms faults while the proxy's loop thread
consults them, so every method takes the lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from mailferry.rig.errors import RigError

THROTTLED_TEXT = "NO [THROTTLED] Request is throttled. Suggested Backoff Time: 1 milliseconds"
"""A tagged refusal in the words our client and the retry policy recognise: Exchange
Online's "Request is throttled. Suggested Backoff Time: N milliseconds" (with Gmail's
``[THROTTLED]`` code)."""

BUSY_BYE = "* BYE Server busy. Suggested Backoff Time: 1 milliseconds"
"""An untagged BYE with a suggested backoff (Exchange closes a throttled session so)."""


class Action(Enum):
    FORWARD = "forward"
    THROTTLE = "throttle"
    BYE = "bye"


@dataclass(frozen=True)
class Answer:
    """What to do with one client command: forward it, or answer it with ``text``."""

    action: Action
    text: str = ""


FORWARD = Answer(Action.FORWARD)


@dataclass(frozen=True)
class ProxyCounts:
    """A snapshot of a proxy's counters.

    ``commands``: client commands seen, by upper-case name (``UID FETCH`` with its
    prefix), whether forwarded or answered by a fault; ``faults``: faults injected, by
    kind (``inflate``, ``deflate``, ``throttle``, ``bye``, ``cut``); ``accepted``:
    connections accepted so far; ``open``: connections being proxied now.
    """

    accepted: int
    open: int
    commands: MappingProxyType[str, int]
    faults: MappingProxyType[str, int]

    def command(self, name: str) -> int:
        return self.commands.get(name.upper(), 0)

    def fault(self, kind: str) -> int:
        return self.faults.get(kind, 0)


@dataclass
class _LiteralFault:
    delta: int
    every: int
    left: int | None
    seen: int = 0


@dataclass
class _ByeFault:
    left: int
    text: str
    command: str | None


@dataclass
class FaultPlan:
    """The armed faults and the counters (thread-safe)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _literal: _LiteralFault | None = None
    _throttles: dict[str, tuple[int, str]] = field(default_factory=dict)
    _bye: _ByeFault | None = None
    _cut: int | None = None
    _commands: Counter[str] = field(default_factory=Counter)
    _faults: Counter[str] = field(default_factory=Counter)
    _accepted: int = 0
    _open: int = 0

    # -- arming (the test's thread) ---------------------------------------------------

    def literals(self, delta: int, every: int, limit: int | None) -> None:
        if delta == 0 or every < 1 or (limit is not None and limit < 1):
            raise RigError(f"literal fault needs delta != 0, every >= 1, limit >= 1 or None; "
                           f"got delta={delta} every={every} limit={limit}")  # fmt: skip
        with self._lock:
            self._literal = _LiteralFault(delta, every, limit)

    def throttle(self, command: str, times: int, text: str) -> None:
        if times < 0:
            raise RigError(f"throttle times must be >= 0, got {times}")
        with self._lock:
            self._throttles[_name(command)] = (times, text)

    def bye(self, after: int, text: str, command: str | None) -> None:
        if after < 1:
            raise RigError(f"bye_after_commands needs n >= 1, got {after}")
        with self._lock:
            self._bye = _ByeFault(after, text, _name(command) if command else None)

    def cut(self, downstream_bytes: int) -> None:
        if downstream_bytes < 0:
            raise RigError(f"cut_after needs bytes >= 0, got {downstream_bytes}")
        with self._lock:
            self._cut = downstream_bytes

    def clear(self) -> None:
        with self._lock:
            self._literal, self._bye, self._cut = None, None, None
            self._throttles.clear()

    def counts(self) -> ProxyCounts:
        with self._lock:
            return ProxyCounts(
                self._accepted,
                self._open,
                MappingProxyType(dict(self._commands)),
                MappingProxyType(dict(self._faults)),
            )

    # -- consulting (the proxy's loop) ------------------------------------------------

    def connection(self, delta: int) -> None:
        with self._lock:
            self._open += delta
            self._accepted += max(0, delta)

    def command(self, name: str) -> Answer:
        """Count a client command and say what to do with it (a BYE wins over a throttle)."""
        with self._lock:
            self._commands[name] += 1
            bye = self._bye
            if bye is not None and bye.command in (None, name):
                bye.left -= 1
                if bye.left == 0:
                    self._bye = None
                    self._faults["bye"] += 1
                    return Answer(Action.BYE, bye.text)
            left, text = self._throttles.get(name, (0, ""))
            if left > 0:
                self._throttles[name] = (left - 1, text)
                self._faults["throttle"] += 1
                return Answer(Action.THROTTLE, text)
            return FORWARD

    def body_literal(self, size: int) -> int:
        """The size to announce for a message literal of ``size`` bytes."""
        with self._lock:
            fault = self._literal
            if fault is None:
                return size
            fault.seen += 1
            if fault.seen % fault.every:
                return size
            if fault.left is not None:
                fault.left -= 1
                if fault.left == 0:
                    self._literal = None
            self._faults["inflate" if fault.delta > 0 else "deflate"] += 1
            return max(0, size + fault.delta)

    def cut_take(self, size: int) -> int | None:
        """None: send all ``size`` bytes; else send that many and cut the connection."""
        with self._lock:
            budget = self._cut
            if budget is None:
                return None
            if size < budget:
                self._cut = budget - size
                return None
            self._cut = None
            self._faults["cut"] += 1
            return budget


def _name(command: str) -> str:
    return " ".join(command.upper().split())
