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
- The root is also looked for, in this order, as Courier spells a name that holds
  its ``.`` delimiter (each ``/`` component with the ``.`` as a space, then as
  ``\\:`` under ``IMAP_SHAREDMUNGENAMES``), and each of those under every
  other-users or shared namespace prefix (Courier's virtual shared folders:
  ``/users/terry.adams`` is ``#shared.users.terry adams``); the first spelling any
  folder is at or under wins.
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
_SHOWN = 6  # folder names a missing-UserRoot explanation lists


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
    folders: Sequence[SourceFolder], user_root: str | None, namespaces: Sequence[str] = ()
) -> tuple[list[tuple[SourceFolder, Path]], Path]:
    """The user's folders, each with its path relative to the user's root, and the
    root as found (empty without a UserRoot, or when no folder is under it)."""
    if user_root is None or not split_loose(user_root, "/"):
        return [(f, inbox_first(split_name(f.name, f.delimiter))) for f in folders], ()
    split = [
        (f, split_name(f.name, f.delimiter), root_paths(user_root, f.delimiter, namespaces))
        for f in folders
    ]
    tries = max((len(roots) for _, _, roots in split), default=0)
    for key in (_exact, _folded):
        for index in range(tries):
            kept = [
                (f, path, roots[index])
                for f, path, roots in split
                if index < len(roots) and key(path[: len(roots[index])]) == key(roots[index])
            ]
            if kept:
                return [(f, path[len(root) :]) for f, path, root in kept], kept[0][2]
    return [], ()


def missing_root(
    folders: Sequence[SourceFolder], user_root: str | None, namespaces: Sequence[str] = ()
) -> str | None:
    """Why no folder is at or under ``user_root``, naming the deepest level of it the
    source has and what that level holds; None when a folder is (or there is no root)."""
    if (
        user_root is None
        or not split_loose(user_root, "/")
        or scope(folders, user_root, namespaces)[0]
    ):
        return None
    depth, near = 0, set[tuple[str, Path]]()
    for folder in folders:
        path = split_name(folder.name, folder.delimiter)
        for root in root_paths(user_root, folder.delimiter, namespaces):
            common = _common(_folded(path), _folded(root))
            if common > depth:
                depth, near = common, set()
            if common == depth and len(path) > depth:
                near.add((folder.delimiter or "/", path[: depth + 1]))
    names = sorted(delimiter.join(path) for delimiter, path in near)
    shown = ", ".join(repr(name) for name in names[:_SHOWN]) + (
        ", …" if len(names) > _SHOWN else ""
    )
    if not names:
        where = "this login sees no folders at all"
    elif depth == 0:
        where = f"this login's top-level folders are {shown}"
    else:
        parent = next(iter(near))
        level = parent[0].join(parent[1][:depth])
        where = f"the nearest level, {level!r}, holds {shown}"
    return (
        f"UserRoot {user_root!r} does not exist on the source: no folder is at or under it "
        f"(shared namespaces searched too); {where}"
    )


def _common(path: Path, root: Path) -> int:
    count = 0
    for mine, theirs in zip(path, root, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def root_paths(
    user_root: str | None, delimiter: str | None, namespaces: Sequence[str]
) -> list[Path]:
    """The spellings of a UserRoot tried, in order (see the module docstring)."""
    if user_root is None:
        return []
    bases = [split_loose(user_root, delimiter)]
    by_slash = tuple(part for part in user_root.split("/") if part)
    if delimiter == "." and any("." in part for part in by_slash):
        bases.append(tuple(part.replace(".", " ") for part in by_slash))
        bases.append(tuple(_munged(part) for part in by_slash))
    prefixes = [(), *(split_loose(ns, delimiter) for ns in namespaces)]
    found = [prefix + base for prefix in prefixes for base in bases]
    return list(dict.fromkeys(path for path in found if path))


def _munged(name: str) -> str:
    """Courier's IMAP_SHAREDMUNGENAMES spelling: ``\\`` doubled, ``.`` as ``\\:``."""
    return name.replace("\\", "\\\\").replace(".", "\\:").replace("/", "\\;")


def _exact(path: Path) -> Path:
    return path


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
