"""Read a whole mailbox back over IMAP (imapclient, not our client) and compare two of them.

A mailbox becomes ``{folder name: Counter[Mail]}``: every selectable folder, each
message as (sha256 of the bytes the server serves for BODY[], flags without
``\\Recent``, INTERNALDATE in epoch seconds). A multiset, because real mailboxes
hold the same message twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

import imapclient

from mailferry.rig import DovecotServer

FETCH_CHUNK = 100
TIMEOUT = 30.0
SKIP_ATTRIBUTES = {b"\\noselect", b"\\nonexistent"}


@dataclass(frozen=True)
class Mail:
    """One message as a server serves it."""

    sha256: str
    flags: frozenset[str]
    internaldate: int

    @property
    def deleted(self) -> bool:
        return "\\Deleted" in self.flags


View = dict[str, Counter[Mail]]


@dataclass(frozen=True)
class Login:
    """How to log in: ``LOGIN user pass``, or SASL PLAIN with ``authzid``."""

    username: str
    password: str
    authzid: str | None = None


@contextmanager
def imap_session(server: DovecotServer, login: Login) -> Iterator[imapclient.IMAPClient]:
    client = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=TIMEOUT)
    client.normalise_times = False  # aware datetimes, no local-time guessing
    try:
        if login.authzid is None:
            client.login(login.username, login.password)
        else:
            client.plain_login(login.username, login.password, login.authzid)
        yield client
    finally:
        try:
            client.logout()
        except (imapclient.exceptions.IMAPClientError, OSError):
            client.shutdown()


def read_view(
    server: DovecotServer, login: Login, *, keep: Callable[[str], bool] = lambda _: True
) -> View:
    """Every selectable folder whose name ``keep`` accepts."""
    with imap_session(server, login) as client:
        view: View = {}
        for attributes, _, name in client.list_folders():
            if {a.lower() for a in attributes} & SKIP_ATTRIBUTES:
                continue
            if not keep(name):
                continue
            view[name] = read_folder(client, name)
        return view


def read_folder(client: imapclient.IMAPClient, folder: str) -> Counter[Mail]:
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    found: Counter[Mail] = Counter()
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start : start + FETCH_CHUNK]
        for data in client.fetch(chunk, ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]).values():
            found[to_mail(data)] += 1
    return found


def to_mail(data: Mapping[bytes, object]) -> Mail:
    body = data[b"BODY[]"]
    flags = data[b"FLAGS"]
    when = data[b"INTERNALDATE"]
    assert isinstance(body, bytes) and isinstance(flags, tuple)
    assert hasattr(when, "timestamp") and when.tzinfo is not None
    names = frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in flags)
    return Mail(hashlib.sha256(body).hexdigest(), names - {"\\Recent"}, int(when.timestamp()))


def under(prefix: str, separator: str = "/") -> Callable[[str], bool]:
    """Accepts ``prefix`` and the folders below it."""
    return lambda name: name == prefix or name.startswith(prefix + separator)


def migrated(view: View, rename: Callable[[str], str] = lambda name: name) -> View:
    """What a default migration should produce from ``view``: ``\\Deleted`` mail is not
    copied, folders are renamed by ``rename``, empty folders are left out."""
    result: View = {}
    for folder, mails in view.items():
        kept = Counter({mail: n for mail, n in mails.items() if not mail.deleted})
        if kept:
            result.setdefault(rename(folder), Counter()).update(kept)
    return result


def non_empty(view: View) -> View:
    return {folder: mails for folder, mails in view.items() if mails}


def without_flags(view: View, *flags: str) -> View:
    drop = frozenset(flags)
    return {
        folder: Counter({replace(m, flags=m.flags - drop): n for m, n in mails.items()})
        for folder, mails in view.items()
    }


def count(view: View) -> int:
    """Messages in the whole mailbox."""
    return sum(sum(mails.values()) for mails in view.values())


def hashes(view: View) -> Counter[str]:
    """The bodies of the whole mailbox, folders ignored."""
    found: Counter[str] = Counter()
    for mails in view.values():
        for mail, n in mails.items():
            found[mail.sha256] += n
    return found


def differences(expected: View, actual: View) -> list[str]:
    """Readable folder-by-folder differences (empty when the views are equal)."""
    problems: list[str] = []
    for folder in sorted(set(expected) | set(actual)):
        want, got = expected.get(folder, Counter()), actual.get(folder, Counter())
        if want == got:
            continue
        problems.append(
            f"{folder!r}: expected {sum(want.values())}, found {sum(got.values())}; "
            f"missing {_short(want - got)}; unexpected {_short(got - want)}"
        )
    return problems


def _short(mails: Counter[Mail]) -> str:
    return (
        ", ".join(f"{m.sha256[:10]} {sorted(m.flags)} {m.internaldate}" for m in list(mails)[:4])
        or "-"
    )
