"""Giving each folder a target path that is valid and not already taken.

Folders are placed one at a time, parents before children; the first to ask
for a name gets it. Keys are compared exactly, or NFC-case-folded when the
target is case-insensitive; a top-level ``INBOX`` is always compared without
case (RFC 3501). The target's INBOX and its special folders are reserved for
the source folders mapped onto them, so no ordinary folder is merged into them.
Paths are full target paths: with a personal prefix (``INBOX.``) the top of the
user's tree is :attr:`TargetNamer.top`, ``("INBOX",)``, and nothing is moved above it.
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

A Maildir++ target (:class:`MaildirLayout`) is one directory per folder,
``.A.B`` in modified UTF-7 (:mod:`mailferry.stores.maildir_names`), so it has
rules of its own, made so that every folder gets a valid name:

- lengths are counted as on disk: modified UTF-7 bytes, the leading ``.``
  included (at most 255); a name that fits is kept as it is;
- a top-level name may not start with ``~`` (Dovecot refuses it): ``∼``;
- a name too long under its parent is shortened around ``…`` (its start and
  its end kept) and gets ``~`` and 8 hex digits of a hash of the folder's source
  path. When the parent has less than 64 bytes left, the folder first moves up
  to the nearest level that has them, named after its path below that level
  (``d57․d58․…``);
- a clash: the folder placed first keeps the name, the other gets the hash
  suffix. Placement follows the sorted source paths, so who keeps a name does not
  depend on the order of the listing, and a suffixed name depends only on the
  folder's own source path: it stays the same whatever other folders come and go.
  (Numbers would shift when a new clashing folder sorts first.)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass

from mailferry.engine.folder_names import (
    clean_component,
    encoded_length,
    lookalike,
    mutf7_length,
    truncate,
    with_suffix,
)
from mailferry.engine.folder_scope import Path
from mailferry.engine.folder_types import TargetLayout
from mailferry.engine.special_folders import SpecialUse
from mailferry.errors import FolderError
from mailferry.stores.maildir_names import (
    DELIMITER,
    ELLIPSIS,
    FOLDER_NAME_MAX,
    NAME_MAX,
    hash_suffix,
    shortened,
    top_level_name,
)

_MIN_ROOM = 32
_MAILDIR_MIN_ROOM = 64  # bytes a Maildir++ level must have left to take a moved-up folder
_JOINED_CHARS = FOLDER_NAME_MAX  # a flattened path keeps this much of each end
_HASH_ATTEMPTS = 64


@dataclass(frozen=True)
class MaildirLayout(TargetLayout):
    """A Maildir++ store: each folder is one directory ``.A.B`` (see the module docstring)."""

    delimiter: str = DELIMITER
    forbidden_characters: str = "/"
    max_component_bytes: int = FOLDER_NAME_MAX
    max_name_bytes: int = FOLDER_NAME_MAX
    max_depth: int = FOLDER_NAME_MAX // 2 + 1  # one character and a "." a level


@dataclass(frozen=True)
class Placed:
    """Where a folder lands; ``full`` is its last name before cutting and numbering;
    ``key`` the source path that led here (what a Maildir++ hash suffix is made of)."""

    path: Path
    full: str
    notes: tuple[str, ...] = ()
    key: Path = ()


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
        self._maildir = isinstance(target, MaildirLayout)
        self._measure = mutf7_length if self._maildir else encoded_length
        self._separator = self._measure(target.delimiter)
        prefix = target.prefix_path
        #: Where top-level folders of the user's tree go: the personal prefix, if any.
        self.top = Placed(prefix, prefix[-1]) if prefix else TOP
        self._reserve(("INBOX",), SpecialUse.INBOX, "the target's INBOX")
        for kind in SpecialUse:
            path = self.special_path(kind)
            if path and kind is not SpecialUse.INBOX:
                self._reserve(path, kind, f"the target's {kind} folder")
        for name in target.reserved_names:  # owned by nobody: never merged into
            self._reserve((*self.top.path, name), object(), f"the target's reserved {name!r}")

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
        return (*self.top.path, *self.split(name)) if name else None

    def claim(self, path: Path, owner: Hashable, who: str) -> Placed:
        """Take a fixed path (INBOX, a special folder) for ``owner``, if free or reserved to it."""
        key = self._key(path)
        source = (f"\x00{owner}",)  # no source name holds a NUL
        if key in self._taken and self._reserved.get(key) != owner:
            parent, name = path[:-1], path[-1]
            if self._maildir:
                above = Placed(parent, self._full.get(parent, parent[-1] if parent else ""))
                return self._place_maildir(above, name, (), source, who, container=False)
            limit = min(self._target.max_component_bytes, self._room(parent))
            numbered, clash = self._unique(parent, name, who, limit)
            return Placed(numbered, numbered[-1], tuple(clash), source)
        self._reserved.pop(key, None)
        self._take(path, who)
        return Placed(path, path[-1], (), source)

    def place(
        self, parent: Placed, source_name: str, who: str, *, container: bool = False
    ) -> Placed:
        """A path for folder ``source_name`` under ``parent``, cleaned, fitted and unique.

        A ``container`` (an unlisted or skipped level) holds no messages, so it takes
        no name for itself: it may share one with any folder, its children go there.
        """
        source = (*parent.key, source_name)
        name, cleaned = clean_component(
            source_name, self._target.delimiter, self._target.forbidden_characters
        )
        if self._maildir:
            return self._place_maildir(parent, name, cleaned, source, who, container=container)
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
        return Placed(path, full, (*notes, *clash), source)

    def _place_maildir(
        self,
        parent: Placed,
        name: str,
        cleaned: tuple[str, ...],
        source: Path,
        who: str,
        *,
        container: bool,
    ) -> Placed:
        """Maildir++: the name as it is when it fits and is free; else moved up if the
        parent has no room left, shortened and suffixed (see the module docstring)."""
        notes = list(cleaned)
        if not parent.path:
            name, fixed = top_level_name(name)
            notes += fixed
        natural = (*parent.path, name)
        fits = self._length(natural) <= self._target.max_name_bytes
        if fits and (container or self._key(natural) not in self._taken):
            if not container:
                self._take(natural, who)
            self._full.setdefault(natural, name)
            return Placed(natural, name, tuple(notes), source)
        if not fits:
            on_disk = len(DELIMITER) + self._length(natural)
            notes.append(f"Maildir++ names are at most {NAME_MAX} bytes on disk, not {on_disk}")
        above, full = parent.path, name
        if self._room(above) < _MAILDIR_MIN_ROOM:
            if fits:  # taken, and no room here for a suffix
                notes.append(f"the name is taken by {self._taken[self._key(natural)]}")
            above, full, levels = self._climb(parent, name)
            notes.append(f"moved up {levels} level(s), named after its path below with '․'")
            if not above:
                full, fixed = top_level_name(full)
                notes += fixed
        path, how = self._free_name(above, full, source, who, container=container)
        self._full.setdefault(path, full)
        return Placed(path, full, (*notes, *how), source)

    def _climb(self, parent: Placed, name: str) -> tuple[Path, str, int]:
        """Up to the nearest level with room, joining each level's full name to ``name``."""
        path, head, levels = parent.path, parent.full, 0
        separator = lookalike(self._target.delimiter)
        while len(path) > len(self.top.path) and self._room(path) < _MAILDIR_MIN_ROOM:
            name = _ends(head + separator + name)
            path, levels = path[:-1], levels + 1
            head = self._full.get(path, path[-1] if path else "")
        return path, name, levels

    def _free_name(
        self, parent: Path, full: str, source: Path, who: str, *, container: bool
    ) -> tuple[Path, list[str]]:
        """``full`` under ``parent`` if it fits and is free, else shortened and suffixed."""
        limit = min(self._target.max_component_bytes, self._room(parent))
        holder = None
        if self._measure(full) <= limit:
            plain = (*parent, full)
            holder = None if container else self._taken.get(self._key(plain))
            if holder is None:
                if not container:
                    self._take(plain, who)
                return plain, []
        for attempt in range(_HASH_ATTEMPTS):
            suffix = hash_suffix(source, attempt)
            candidate = (*parent, shortened(full, limit, suffix))
            if container or self._key(candidate) not in self._taken:
                if not container:
                    self._take(candidate, who)
                if holder is not None:
                    return candidate, [f"the name is taken by {holder}: suffix '{suffix}' added"]
                return candidate, [f"shortened, with the suffix '{suffix}'"]
        raise FolderError(who, f"no free Maildir++ name after {_HASH_ATTEMPTS} attempts")

    def _can_hold(self, path: Path) -> bool:
        return len(path) < self._target.max_depth and self._room(path) >= _MIN_ROOM

    def _fit(self, parent: Placed, name: str) -> tuple[Path, str, bool]:
        """Move up while too deep or too long, joining the level's full name to ``name``."""
        path, head, moved = parent.path, parent.full, False
        separator = lookalike(self._target.delimiter)
        while len(path) > len(self.top.path) and not self._can_hold(path):
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
            known = separators + sum(self._measure(part) for part in path)
            self._lengths[path] = known
        return known

    def _take(self, path: Path, who: str) -> None:
        self._taken[self._key(path)] = who
        if path not in self._lengths:  # from the parent's, already known when placing in order
            above = self._length(path[:-1]) + self._separator if len(path) > 1 else 0
            self._lengths[path] = above + self._measure(path[-1])

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


def _ends(text: str) -> str:
    """``text``, or its two ends around ``…`` when very long (a name to shorten later)."""
    if len(text) <= 2 * _JOINED_CHARS:
        return text
    return text[:_JOINED_CHARS] + ELLIPSIS + text[-_JOINED_CHARS:]
