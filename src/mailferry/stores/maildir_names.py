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
"""

from __future__ import annotations

from mailferry.errors import FolderError, LocalProtocolError, MailboxNotFound
from mailferry.imap import mutf7

DELIMITER = "."
INBOX = "INBOX"
#: Longest directory name most file systems allow (bytes).
NAME_MAX = 255


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
        raise FolderError(folder, f"name too long for Maildir++ ({len(name)} > {NAME_MAX} bytes)")
    return name


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
