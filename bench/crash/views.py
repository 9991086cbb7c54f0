"""Whole mailboxes as multisets, read independently of mailferry's own code.

A mailbox is ``{folder: Counter[Mail]}``; folder names are decoded and ``/``-separated,
a message is (sha256 of its bytes, flags without ``\\Recent``, INTERNALDATE in epoch
seconds). IMAP is read with imapclient; a Maildir straight from its files (flags from
the file name's ``:2,`` letters, keywords from ``dovecot-keywords``, the date from the
mtime). With ``lf`` the bytes are hashed with CRLF turned into LF, because a Maildir
file may keep either while IMAP always serves CRLF (as tests/integration/test_serve_kill9.py).
"""

from __future__ import annotations

import email.header
import email.parser
import email.policy
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import imapclient
from imapclient.imap_utf7 import decode as mutf7_decode

FETCH_CHUNK = 200
TIMEOUT = 60.0
_SKIP_ATTRIBUTES = {b"\\noselect", b"\\nonexistent"}
_SYSTEM = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True)
class Mail:
    digest: str
    flags: frozenset[str]
    date: int


View = dict[str, Counter[Mail]]


@dataclass
class Labels:
    """digest -> "Message-ID | Subject", to name messages in reports."""

    names: dict[str, str] = field(default_factory=dict)

    def add(self, digest: str, body: bytes) -> None:
        if digest not in self.names:
            head = _HEADERS.parsebytes(body[:8192])
            self.names[digest] = (
                f"{head.get('Message-ID', '(no Message-ID)')} | "
                + str(head.get("Subject", "")).replace("\n", " ")[:60]
            )

    def of(self, digest: str) -> str:
        return self.names.get(digest, "(not a source message)")


def _decoded(text: str) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, UnicodeError):
        return text


def digest(body: bytes, lf: bool) -> str:
    return hashlib.sha256(body.replace(b"\r\n", b"\n") if lf else body).hexdigest()


def read_imap(
    port: int, user: str, password: str, *, lf: bool, labels: Labels | None = None
) -> View:
    client = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False, timeout=TIMEOUT)
    client.normalise_times = False
    try:
        client.login(user, password)
        view: View = {}
        for attributes, delimiter, name in client.list_folders():
            if {a.lower() for a in attributes} & _SKIP_ATTRIBUTES:
                continue
            folder = name.replace(delimiter.decode(), "/") if delimiter else name
            view[folder] = _read_folder(client, name, lf, labels)
        return view
    finally:
        try:
            client.logout()
        except (imapclient.exceptions.IMAPClientError, OSError):
            client.shutdown()


def _read_folder(
    client: imapclient.IMAPClient, name: str, lf: bool, labels: Labels | None
) -> Counter[Mail]:
    client.select_folder(name, readonly=True)
    uids = client.search(["ALL"])
    found: Counter[Mail] = Counter()
    for start in range(0, len(uids), FETCH_CHUNK):
        fetched = client.fetch(
            uids[start : start + FETCH_CHUNK], ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]
        )
        for data in fetched.values():
            body = data[b"BODY[]"]
            flags = {f.decode() if isinstance(f, bytes) else str(f) for f in data[b"FLAGS"]}
            key = digest(body, lf)
            if labels is not None:
                labels.add(key, body)
            found[
                Mail(key, frozenset(flags - {"\\Recent"}), int(data[b"INTERNALDATE"].timestamp()))
            ] += 1
    return found


def read_maildir(mailbox: Path, *, lf: bool = True) -> View:
    """A Maildir++ mailbox directory (INBOX itself, ``.A.B`` sub-folders)."""
    view: View = {}
    if not mailbox.is_dir():
        return view
    folders = [("INBOX", mailbox)] + [
        (_folder_name(d.name), d) for d in sorted(mailbox.iterdir()) if d.name.startswith(".")
    ]
    for name, directory in folders:
        if (directory / "cur").is_dir() or (directory / "new").is_dir():
            view[name] = _read_maildir_folder(directory, lf)
    return view


def _folder_name(dirname: str) -> str:
    return "/".join(mutf7_decode(part.encode()) for part in dirname[1:].split("."))


def _read_maildir_folder(directory: Path, lf: bool) -> Counter[Mail]:
    keywords = _keywords(directory / "dovecot-keywords")
    found: Counter[Mail] = Counter()
    for sub in ("cur", "new"):
        for path in (directory / sub).glob("*") if (directory / sub).is_dir() else ():
            if path.is_file():
                flags = _file_flags(path.name, keywords)
                mail = Mail(digest(path.read_bytes(), lf), flags, int(path.stat().st_mtime))
                found[mail] += 1
    return found


def _keywords(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        number, _, name = line.partition(" ")
        if number.isdigit() and name and int(number) < 26:
            table[chr(ord("a") + int(number))] = name
    return table


def _file_flags(name: str, keywords: Mapping[str, str]) -> frozenset[str]:
    _, sep, letters = name.rpartition(":2,")
    if not sep:
        return frozenset()
    return frozenset(
        _SYSTEM.get(c) or keywords.get(c, f"?keyword-{c}")
        for c in letters
        if c in _SYSTEM or c.islower()
    )


def tmp_leftovers(mailbox: Path) -> int:
    """Files left in ``tmp/`` directories (harmless for readers; worth knowing)."""
    return sum(1 for p in mailbox.rglob("tmp/*") if p.is_file()) if mailbox.is_dir() else 0


def lock_leftovers(root: Path) -> list[str]:
    """Dot-locks (``*.lock``) under ``root``: left by a killed writer, the next run waits
    for them to go stale."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.lock")) if root.is_dir() else []


def expected(view: View) -> View:
    """What a default migration must produce: no ``\\Deleted`` mail, no empty folders."""
    result: View = {}
    for folder, mails in view.items():
        kept = Counter({m: n for m, n in mails.items() if "\\Deleted" not in m.flags})
        if kept:
            result[folder] = kept
    return result


def non_empty(view: View) -> View:
    return {folder: mails for folder, mails in view.items() if mails}
