"""Giving each folder a target path that is valid and not already taken.

Folders are placed one at a time, parents before children; the first to ask
for a name gets it. Keys are compared exactly, or NFC-case-folded when the
target is case-insensitive; a top-level ``INBOX`` is always compared without
case (RFC 3501). The target's INBOX and its special folders are reserved for
the source folders mapped onto them, so no ordinary folder is merged into them.

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


class TargetNamer:
    """Hands out unique, valid target paths for one user's migration."""

    def __init__(self, target: TargetLayout) -> None:
        self._target = target
        self._taken: dict[Path, str] = {}
        self._reserved: dict[Path, Hashable] = {}
        self._next_number: dict[Path, int] = {}
        self._lengths: dict[Path, int] = {(): 0}
        self._reserve(("INBOX",), SpecialUse.INBOX, "the target's INBOX")
        for kind in SpecialUse:
            name = target.special_folders.get(kind)
            if name and kind is not SpecialUse.INBOX:
                self._reserve(self.split(name), kind, f"the target's {kind} folder")

    def split(self, name: str) -> Path:
        """A target name as a path."""
        return tuple(name.split(self._target.delimiter))

    def special_path(self, kind: SpecialUse) -> Path | None:
        """Where the target keeps ``kind``, or None when it has no such folder."""
        if kind is SpecialUse.INBOX:
            return ("INBOX",)
        name = self._target.special_folders.get(kind)
        return self.split(name) if name else None

    def claim(self, path: Path, owner: Hashable, who: str) -> tuple[Path, list[str]]:
        """Take a fixed path (INBOX, a special folder) for ``owner``, if free or reserved to it."""
        key = self._key(path)
        if key in self._taken and self._reserved.get(key) != owner:
            parent, name = path[:-1], path[-1]
            limit = min(self._target.max_component_bytes, self._room(parent))
            return self._unique(parent, name, who, limit)
        self._reserved.pop(key, None)
        self._take(path, who)
        return path, []

    def place(self, parent: Path, source_name: str, who: str) -> tuple[Path, list[str]]:
        """A path for folder ``source_name`` under ``parent``, cleaned, fitted and unique."""
        name, cleaned = clean_component(
            source_name, self._target.delimiter, self._target.forbidden_characters
        )
        notes = list(cleaned)
        parent, name, moved = self._fit_depth(parent, name)
        if moved:
            notes.append(f"too deep for the target: flattened into {name!r}")
        room = self._room(parent)
        limit = min(self._target.max_component_bytes, room)
        if encoded_length(name) > limit:
            name = truncate(name, limit)
            notes.append(f"name over {limit} bytes: shortened")
        path, clash = self._unique(parent, name, who, limit)
        return path, notes + clash

    def _fit_depth(self, parent: Path, name: str) -> tuple[Path, str, bool]:
        moved = False
        while parent and (
            len(parent) >= self._target.max_depth or self._room(parent) < _MIN_ROOM
        ):
            parent, name = parent[:-1], parent[-1] + lookalike(self._target.delimiter) + name
            moved = True
        return parent, name, moved

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
        return candidate, [f"{name!r} is taken by {holder}: renamed to {candidate[-1]!r}"]

    def _room(self, parent: Path) -> int:
        if not parent:
            return self._target.max_name_bytes
        separator = encoded_length(self._target.delimiter)
        return self._target.max_name_bytes - self._length(parent) - separator

    def _length(self, path: Path) -> int:
        known = self._lengths.get(path)
        if known is None:
            separators = (len(path) - 1) * encoded_length(self._target.delimiter)
            known = separators + sum(encoded_length(part) for part in path)
            self._lengths[path] = known
        return known

    def _take(self, path: Path, who: str) -> None:
        self._taken[self._key(path)] = who
        self._length(path)

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
