"""Which source folders belong to the user, and the path each has inside the user's tree.

- A name is split on its own LIST delimiter; a NIL delimiter means one component.
- Without a UserRoot, a leading ``INBOX`` component is compared without case
  (RFC 3501) and written ``INBOX``.
- ``UserRoot`` (e.g. ``/users/terry.adams``) is split on ``/`` *and* on the
  folder's delimiter, leading and trailing separators ignored. Folders at or
  under it are kept, with the root's components removed; others are not the
  user's mail and are dropped silently. Components are compared exactly; only
  when no folder matches exactly are they compared without case (an
  administrator's typo in case, never a second user's tree).
- The personal prefix: a NAMESPACE prefix such as ``INBOX.`` is given, or, when
  it is not (None) — or a UserRoot is used — detected Courier-style: every
  folder but INBOX lives under ``INBOX<delimiter>`` and at least one of INBOX's
  children is a special folder (by attribute or name). A lone ``INBOX/Projects``
  on a server with no special folders there is a real subfolder and is left alone.
  ``""`` means "no prefix" and turns detection off.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailferry.engine.folder_types import SourceFolder
from mailferry.engine.special_folders import special_use_from_attributes, special_use_from_name

Path = tuple[str, ...]


def split_name(name: str, delimiter: str | None) -> Path:
    """The components of a LISTed name."""
    return tuple(name.split(delimiter)) if delimiter else (name,)


def split_loose(text: str, delimiter: str | None) -> Path:
    """Components of an administrator-typed path: ``/`` or the delimiter separate them."""
    if delimiter and delimiter != "/":
        text = text.replace(delimiter, "/")
    return tuple(part for part in text.split("/") if part)


def inbox_first(path: Path) -> Path:
    """``path`` with a leading INBOX (any case) written ``INBOX``."""
    if path and path[0] != "INBOX" and path[0].casefold() == "inbox":
        return ("INBOX", *path[1:])
    return path


def scope(
    folders: Sequence[SourceFolder], user_root: str | None
) -> list[tuple[SourceFolder, Path]]:
    """The user's folders, each with its path relative to the user's root."""
    if user_root is None or not split_loose(user_root, "/"):
        return [(f, inbox_first(split_name(f.name, f.delimiter))) for f in folders]
    split = [
        (f, split_name(f.name, f.delimiter), split_loose(user_root, f.delimiter)) for f in folders
    ]
    exact = [(f, path[len(root) :]) for f, path, root in split if path[: len(root)] == root]
    if exact:
        return exact
    return [
        (f, path[len(root) :])
        for f, path, root in split
        if _folded(path[: len(root)]) == _folded(root)
    ]


def _folded(path: Path) -> Path:
    return tuple(part.casefold() for part in path)


def personal_prefix(
    scoped: Sequence[tuple[SourceFolder, Path]], given: str | None, user_root: str | None
) -> Path:
    """The personal-namespace prefix to strip (empty when there is none)."""
    if given is not None and user_root is None:
        delimiter = next((f.delimiter for f, _ in scoped if f.delimiter), None)
        return inbox_first(split_loose(given, delimiter))
    return _detect_inbox_prefix(scoped)


def _detect_inbox_prefix(scoped: Sequence[tuple[SourceFolder, Path]]) -> Path:
    heads = {path[0] for _, path in scoped if path}
    if len(heads) != 1:
        return ()
    head = heads.pop()
    if head.casefold() != "inbox":
        return ()
    children = [(folder, path[1]) for folder, path in scoped if len(path) == 2]
    if any(_looks_special(folder, leaf) for folder, leaf in children):
        return (head,)
    return ()


def _looks_special(folder: SourceFolder, leaf: str) -> bool:
    by_attribute = special_use_from_attributes(folder.attributes)
    return by_attribute is not None or special_use_from_name(leaf) is not None
