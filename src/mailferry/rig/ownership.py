"""Which system users a rig Dovecot runs as, and handing mail files over to them.

Unprivileged: everything runs as the current user. As root: services stay root, login
processes use ``dovenull`` (Dovecot refuses root there) and mail is accessed as the
``dovecot`` user (Dovecot refuses mail access as root), so files written by the test
process must be chowned to it.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from mailferry.rig.errors import RigError

_LOGIN_CANDIDATES = ("dovenull", "nobody")
_MAIL_CANDIDATES = ("dovecot", "nobody")


@dataclass(frozen=True)
class MailOwner:
    internal_user: str
    internal_group: str
    login_user: str
    uid: int
    gid: int

    @property
    def needs_chown(self) -> bool:
        return os.geteuid() == 0 and self.uid != 0

    def chown_tree(self, path: Path) -> None:
        """Give ``path`` and everything below it to the mail uid (no-op unprivileged)."""
        if not self.needs_chown or not path.exists():
            return
        os.chown(path, self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(path):
            for entry in (*dirnames, *filenames):
                os.chown(os.path.join(dirpath, entry), self.uid, self.gid, follow_symlinks=False)

    def make_reachable(self, path: Path) -> None:
        """Let the mail uid traverse to ``path`` (pytest's temp dirs are 0700 root).

        Adds only the search bit for others, and only on directories this process owns.
        """
        if not self.needs_chown:
            return
        for directory in (path, *path.parents):
            info = directory.stat()
            if info.st_uid == os.geteuid() and not info.st_mode & stat.S_IXOTH:
                directory.chmod(stat.S_IMODE(info.st_mode) | stat.S_IXOTH)


def _first_user(candidates: tuple[str, ...]) -> pwd.struct_passwd:
    for name in candidates:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RigError(f"running as root needs one of these system users: {', '.join(candidates)}")


def mail_owner() -> MailOwner:
    euid, egid = os.geteuid(), os.getegid()
    if euid != 0:
        user = pwd.getpwuid(euid).pw_name
        group = grp.getgrgid(egid).gr_name
        return MailOwner(user, group, user, euid, egid)
    login = _first_user(_LOGIN_CANDIDATES)
    mail = _first_user(_MAIL_CANDIDATES)
    return MailOwner("root", "root", login.pw_name, mail.pw_uid, mail.pw_gid)
