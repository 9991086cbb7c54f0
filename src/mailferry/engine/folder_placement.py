"""Giving each folder a target path that is valid and not already taken.

Folders are placed one at a time, parents before children; the first to ask
for a name gets it. Keys are compared exactly, or NFC-case-folded when the
target is case-insensitive; a top-level ``INBOX`` is always compared without
case (RFC 3501). The target's INBOX and its special folders are reserved for
the source folders mapped onto them, so no ordinary folder is merged into them.
Levels that are not migrated themselves (unlisted, ``\\Noselect``, filtered
out) hold no messages and take no name: their children may land inside an
existing folder of that name (``Archive/2020`` under the target's Archive).

Limits (see :class:`~mailferry.engine.folder_types.TargetLayout`):

- deeper than ``max_depth``: the folder is flattened into its parent's level,
  its name joined to the parent's with the delimiter's look-alike
  (``a/b/…/x∕y``), so a 1,000-deep chain keeps every folder, at most
  ``max_depth`` levels deep;
- a full name over ``max_name_bytes``: the folder moves up a level the same way
  until at least 32 bytes are free for its own name;
- a component over ``max_component_bytes`` is cut; a clash then gets `` (2)``…
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass

from mailferry.engine.folder_names import (
    clean_component,
    encoded_length,
    lookalike,
    truncate,
    with_suffix,
)
from mailferry.engine.folder_scope import Path
from mailferry.engine.folder_types import TargetLayout
from mailferry.engine.special_folders import SpecialUse

_MIN_ROOM = 32


@dataclass(frozen=True)
class Placed:
    """Where a folder lands; ``full`` is its last name before cutting and numbering."""

    path: Path
    full: str
    notes: tuple[str, ...] = ()


#: The top of the target, where top-level folders are placed.
TOP = Placed((), "")


class TargetNamer:
    """Hands out unique, valid target paths for one user's migration."""

    def __init__(self, target: TargetLayout) -> None:
        self._target = target
        self._taken: dict[Path, str] = {}
        self._reserved: dict[Path, Hashable] = {}
        self._next_number: dict[Path, int] = {}
        self._full: dict[Path, str] = {}  # placed path -> its name before cutting and numbering
        self._lengths: dict[Path, int] = {(): 0}
        self._separator = encoded_length(target.delimiter)
        self._reserve(("INBOX",), SpecialUse.INBOX, "the target's INBOX")
        for kind in SpecialUse:
            name = target.special_folders.get(kind)
            if name and kind is not SpecialUse.INBOX:
                self._reserve(self.split(name), kind, f"the target's {kind} folder")

    def split(self, name: str) -> Path:
        """A target name as a path."""
        return tuple(name.split(self._target.delimiter))

    def join(self, path: Path) -> str:
        """A target path as a name."""
        return self._target.delimiter.join(path)

    def special_path(self, kind: SpecialUse) -> Path | None:
        """Where the target keeps ``kind``, or None when it has no such folder."""
        if kind is SpecialUse.INBOX:
            return ("INBOX",)
        name = self._target.special_folders.get(kind)
        return self.split(name) if name else None

    def claim(self, path: Path, owner: Hashable, who: str) -> Placed:
        """Take a fixed path (INBOX, a special folder) for ``owner``, if free or reserved to it."""
        key = self._key(path)
        if key in self._taken and self._reserved.get(key) != owner:
            parent, name = path[:-1], path[-1]
            limit = min(self._target.max_component_bytes, self._room(parent))
            numbered, clash = self._unique(parent, name, who, limit)
            return Placed(numbered, numbered[-1], tuple(clash))
        self._reserved.pop(key, None)
        self._take(path, who)
        return Placed(path, path[-1], ())

    def place(
        self, parent: Placed, source_name: str, who: str, *, container: bool = False
    ) -> Placed:
        """A path for folder ``source_name`` under ``parent``, cleaned, fitted and unique.

        A ``container`` (an unlisted or skipped level) holds no messages, so it takes
        no name for itself: it may share one with any folder, its children go there.
        """
        name, cleaned = clean_component(
            source_name, self._target.delimiter, self._target.forbidden_characters
        )
        notes = list(cleaned)
        above, name, moved = self._fit(parent, name)
        if moved:
            notes.append(f"over {self._target.max_depth} levels or too long: moved up a level")
        full = name
        limit = min(self._target.max_component_bytes, self._room(above))
        if encoded_length(name) > limit:
            name = truncate(name, limit)
            notes.append(f"name over {limit} bytes: shortened")
        path: Path = (*above, name)
        clash: list[str] = []
        if not container:
            path, clash = self._unique(above, name, who, limit)
        self._full.setdefault(path, full)
        return Placed(path, full, (*notes, *clash))

    def _can_hold(self, path: Path) -> bool:
        return len(path) < self._target.max_depth and self._room(path) >= _MIN_ROOM

    def _fit(self, parent: Placed, name: str) -> tuple[Path, str, bool]:
        """Move up while too deep or too long, joining the level's full name to ``name``."""
        path, head, moved = parent.path, parent.full, False
        separator = lookalike(self._target.delimiter)
        while path and not self._can_hold(path):
            # what lies past the component limit is cut anyway: keep the name short to work on
            name = (head + separator + name)[: self._target.max_component_bytes + 1]
            path, moved = path[:-1], True
            head = self._full.get(path, path[-1] if path else "")
        return path, name, moved

    def _unique(self, parent: Path, name: str, who: str, limit: int) -> tuple[Path, list[str]]:
        path = (*parent, name)
        key = self._key(path)
        if key not in self._taken:
            self._take(path, who)
            return path, []
        holder = self._taken[key]
        number = self._next_number.get(key, 2)
        while True:
            candidate = (*parent, with_suffix(name, number, limit))
            number += 1
            if self._key(candidate) not in self._taken:
                break
        self._next_number[key] = number
        self._take(candidate, who)
        return candidate, [f"the name is taken by {holder}: numbered ({number - 1})"]

    def _room(self, parent: Path) -> int:
        if not parent:
            return self._target.max_name_bytes
        return self._target.max_name_bytes - self._length(parent) - self._separator

    def _length(self, path: Path) -> int:
        known = self._lengths.get(path)
        if known is None:
            separators = (len(path) - 1) * self._separator
            known = separators + sum(encoded_length(part) for part in path)
            self._lengths[path] = known
        return known

    def _take(self, path: Path, who: str) -> None:
        self._taken[self._key(path)] = who
        if path not in self._lengths:  # from the parent's, already known when placing in order
            above = self._length(path[:-1]) + self._separator if len(path) > 1 else 0
            self._lengths[path] = above + encoded_length(path[-1])

    def _reserve(self, path: Path, owner: Hashable, who: str) -> None:
        key = self._key(path)
        if key not in self._taken:
            self._taken[key] = who
            self._reserved[key] = owner

    def _key(self, path: Path) -> Path:
        parts = list(path)
        if parts and parts[0].casefold() == "inbox":
            parts[0] = "INBOX"
        if self._target.case_insensitive:
            parts = [unicodedata.normalize("NFC", part).casefold() for part in parts]
        return tuple(parts)
