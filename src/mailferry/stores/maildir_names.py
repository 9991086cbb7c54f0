"""Names on disk for a Maildir++ mailbox, exactly as Dovecot 2.3 expects them.

With ``mail_location = maildir:<root>/%u`` (LAYOUT=Maildir++, separator ``.``):

- a mailbox is the directory ``<root>/<email address>``, which is also INBOX;
- any other folder ``A.B`` is the directory ``.A.B`` inside it, each component
  in modified UTF-7 (``&`` is ``&-``, DEL and non-ASCII are shifted);
- ``subscriptions`` lists folders (``V\\t2`` format, separator written as TAB).

Whatever is asked for, a name either maps to one direct child of its parent
directory or is refused: addresses and folder names with ``/``, NUL, control
characters, ``..``, empty components, a leading ``.`` or ``~`` never reach the
file system. Refusals are ``MailboxNotFound`` (the address) or ``FolderError``.

What Dovecot 2.3 serves (:func:`dirname_problem`, checked against its sources
and a running 2.3.19): the whole name is one directory, so it is at most 255
bytes *with* the leading ``.``, as written on disk (modified UTF-7, the default
without ``mailbox_list_utf8``); the name may not start with ``~``; there is no
depth limit. ``tmp``, ``new``, ``cur`` and Dovecot's or Courier's files
(``dovecot-uidlist``, ``courierimapsubscribed``…) are not reserved: a folder's
directory always starts with ``.``, and those never do. :func:`shortened` and
:func:`hash_suffix` are what the folder mapper uses to make a name fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from mailferry.errors import FolderError, LocalProtocolError, MailboxNotFound
from mailferry.imap import mutf7

DELIMITER = "."
INBOX = "INBOX"
#: Longest directory name most file systems allow (bytes).
NAME_MAX = 255
#: Bytes a folder's name may take on disk: ``NAME_MAX`` less the leading ``.``.
FOLDER_NAME_MAX = NAME_MAX - len(DELIMITER)
#: Stands for a leading ``~`` (U+223C TILDE OPERATOR), which Dovecot refuses.
TILDE_LOOKALIKE = "\u223c"
#: Marks where :func:`shortened` cut a name (U+2026).
ELLIPSIS = "\u2026"
HASH_CHARS = 8


def _has_control(text: str) -> bool:
    return any(ord(char) < 0x20 for char in text)


def mailbox_dirname(address: str) -> str:
    """The directory name of a mailbox: the address itself, once checked."""
    problem = _address_problem(address)
    if problem is not None:
        raise MailboxNotFound(address, f"cannot name a Maildir directory: {problem}")
    return address


def _address_problem(address: str) -> str | None:
    if not address:
        return "the address is empty"
    if "/" in address or "\\" in address:
        return "it contains a slash"
    if "\0" in address or _has_control(address) or "\x7f" in address:
        return "it contains a control character"
    if address.startswith((".", "~")):
        return f"it starts with {address[0]!r}"
    if ".." in address:
        return "it contains '..'"
    if address != address.strip():
        return "it starts or ends with white space"
    try:
        encoded = address.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid Unicode"
    if len(encoded) > NAME_MAX:
        return f"it is longer than {NAME_MAX} bytes"
    return None


def is_inbox(folder: str) -> bool:
    return folder.upper() == INBOX


def folder_components(folder: str) -> list[str]:
    """The hierarchy components of ``folder`` (``INBOX`` spelled canonically)."""
    parts = folder.split(DELIMITER)
    if parts and is_inbox(parts[0]):
        parts[0] = INBOX
    return parts


def folder_dirname(folder: str) -> str | None:
    """``.A.B`` for folder ``A.B``; None for INBOX (the mailbox directory itself)."""
    if is_inbox(folder):
        return None
    parts = folder_components(folder)
    for part in parts:
        problem = _component_problem(part)
        if problem is not None:
            raise FolderError(folder, f"cannot be stored in Maildir++: {problem}")
    if parts[0].startswith("~"):
        raise FolderError(folder, "cannot be stored in Maildir++: Dovecot refuses a leading '~'")
    try:
        encoded = [mutf7.encode(part).decode("ascii") for part in parts]
    except LocalProtocolError as exc:
        raise FolderError(folder, f"cannot be stored in Maildir++: {exc}") from None
    name = DELIMITER + DELIMITER.join(encoded)
    if len(name) > NAME_MAX:
        raise FolderError(
            folder, f"name too long for Maildir++ ({len(name)} > {NAME_MAX} bytes on disk)"
        )
    return name


def dirname_problem(dirname: str) -> str | None:
    """Why Dovecot 2.3 would not serve the directory ``dirname`` as a folder; None if it would.

    ``.`` then the name's components joined by ``.``, each in canonical modified
    UTF-7; at most ``NAME_MAX`` bytes; no empty component (``..`` is a path step,
    ``..DOVECOT-TRASHED`` is deleted by Dovecot); no ``/``; not starting with ``~``;
    no control character once decoded (Dovecot creates none); not a second INBOX.
    """
    if not dirname.startswith(DELIMITER):
        return "it does not start with '.'"
    if not all(" " <= char <= "~" for char in dirname):
        return "it is not modified UTF-7 (a character outside printable ASCII)"
    if len(dirname) > NAME_MAX:
        return f"{len(dirname)} bytes on disk, more than {NAME_MAX}"
    if "/" in dirname:
        return "it contains '/'"
    if dirname.startswith(DELIMITER + "~"):
        return "Dovecot refuses a name starting with '~'"
    parts = [part.encode("ascii") for part in dirname[1:].split(DELIMITER)]
    if b"" in parts:
        return "an empty name component (leading, trailing or doubled '.')"
    for part in parts:
        if not mutf7.is_valid(part):
            return f"{part.decode()!r} is not canonical modified UTF-7"
        if _has_control(mutf7.decode(part)):
            return "a control character in the name"
    if len(parts) == 1 and is_inbox(mutf7.decode(parts[0])):
        return "it would be a second INBOX"
    return None


def disk_bytes(text: str) -> int:
    """Bytes ``text`` takes in a directory name (modified UTF-7)."""
    return len(mutf7.encode(text))


def top_level_name(name: str) -> tuple[str, tuple[str, ...]]:
    """``name`` fit to start a folder's directory name, and a note if it had to change."""
    if not name.startswith("~"):
        return name, ()
    note = f"Dovecot refuses a name starting with '~': replaced with {TILDE_LOOKALIKE!r}"
    return TILDE_LOOKALIKE + name[1:], (note,)


def hash_suffix(key: Sequence[str], attempt: int = 0) -> str:
    """``~`` and a short hash of ``key`` (a folder's source path): the same on every run.

    ``attempt`` > 0 gives other suffixes for the rare name that is taken all the same.
    """
    parts: list[str | int] = [*key, attempt] if attempt else list(key)
    data = json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return "~" + hashlib.blake2b(data, digest_size=8).hexdigest()[:HASH_CHARS]


def shortened(text: str, limit: int, suffix: str = "") -> str:
    """``text`` then ``suffix`` in at most ``limit`` bytes on disk.

    When ``text`` must be cut, its start and its end (a third of the room) are kept
    around ``…``: the end of a flattened path is the folder's own name. The pieces are
    measured apart, which never undercounts (modified UTF-7 runs only merge).
    """
    if len(text) + len(suffix) <= limit and disk_bytes(text + suffix) <= limit:
        return text + suffix
    room = limit - disk_bytes(suffix) - disk_bytes(ELLIPSIS) - 1  # 1: "_" for an empty start
    if room < 2:
        raise ValueError(f"{limit} bytes leave no room for a shortened name")
    end = _longest(text, room // 3, from_end=True)
    start = _longest(text[: len(text) - len(end)], room - disk_bytes(end), from_end=False)
    return (start.rstrip() or "_") + ELLIPSIS + end.lstrip() + suffix


def _longest(text: str, limit: int, *, from_end: bool) -> str:
    """The longest start (or end) of ``text`` within ``limit`` bytes on disk."""
    text = text[len(text) - limit :] if from_end else text[:limit]  # a character: a byte or more
    low, high = 0, len(text)  # disk_bytes grows with the length: binary search
    while low < high:
        middle = (low + high + 1) // 2
        piece = text[len(text) - middle :] if from_end else text[:middle]
        if disk_bytes(piece) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[len(text) - low :] if from_end else text[:low]


def _component_problem(part: str) -> str | None:
    if not part:
        return "empty name component (leading, trailing or doubled '.')"
    if "/" in part:
        return "'/' in a name component"
    if "\0" in part or _has_control(part):
        return "control character in the name"
    return None


def folder_from_dirname(dirname: str) -> str | None:
    """The folder a ``.A.B`` directory holds; None for names that are not folders."""
    if not dirname.startswith(DELIMITER) or dirname in (".", ".."):
        return None
    raw = dirname[1:]
    if not raw or "" in raw.split(DELIMITER):
        return None
    return DELIMITER.join(
        mutf7.decode(part.encode("utf-8", "surrogateescape")) for part in raw.split(DELIMITER)
    )


def parents(folder: str) -> list[str]:
    """``A.B.C`` -> ``["A", "A.B"]`` (what must exist above it)."""
    parts = folder_components(folder)
    return [DELIMITER.join(parts[:depth]) for depth in range(1, len(parts))]


def subscription_line(folder: str) -> str:
    """A folder as Dovecot's ``subscriptions`` file (version 2) writes it."""
    return "\t".join(mutf7.encode(part).decode("ascii") for part in folder_components(folder))


def parse_subscriptions(text: str) -> list[str]:
    """The folders in a ``subscriptions`` file (version 2, or the old one-name-a-line)."""
    lines = text.split("\n")
    if lines and lines[0].startswith("V\t"):
        lines = lines[2:] if len(lines) > 1 and lines[1] == "" else lines[1:]
        separator = "\t"
    else:
        separator = DELIMITER
    folders = []
    for line in lines:
        if line:
            parts = line.split(separator)
            names = (mutf7.decode(part.encode("utf-8", "surrogateescape")) for part in parts)
            folders.append(DELIMITER.join(names))
    return folders


def render_subscriptions(folders: list[str]) -> str:
    return "V\t2\n\n" + "".join(subscription_line(folder) + "\n" for folder in folders)
