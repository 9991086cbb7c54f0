"""Users of a rig Dovecot: passwd-file lines and filesystem-safe home directories.

Usernames are arbitrary strings (Exchange ``contoso-students/mailadmin/terry.adams``,
Mirapoint ``#user@domain#admin#``), so the home directory is derived from an escaped
form of the name rather than from Dovecot's ``%u``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import string
import time
from dataclasses import dataclass
from pathlib import Path

from mailferry.rig.errors import RigError

_SAFE_CHARS = frozenset(string.ascii_letters + string.digits + "-_.@+")
_FORBIDDEN = frozenset("\r\n\0")
_MAX_DIRNAME = 200


def safe_dirname(name: str) -> str:
    """Map a username to one path component, injectively for names that stay short.

    Safe characters pass through, everything else (and a leading dot) becomes
    ``=XX`` per UTF-8 byte; ``=`` itself is escaped, so distinct names never collide.
    """
    check_username(name)
    parts: list[str] = []
    for index, char in enumerate(name):
        if char in _SAFE_CHARS and not (index == 0 and char == "."):
            parts.append(char)
        else:
            parts.extend(f"={byte:02X}" for byte in char.encode("utf-8"))
    escaped = "".join(parts)
    if len(escaped) > _MAX_DIRNAME:
        return "=H" + hashlib.sha256(name.encode("utf-8")).hexdigest()
    return escaped


def check_username(name: str) -> None:
    """Reject names a passwd-file cannot hold."""
    if not name:
        raise RigError("username must not be empty")
    bad = sorted(_FORBIDDEN.intersection(name))
    if bad:
        raise RigError(f"username {name!r} contains characters IMAP cannot carry: {bad}")


@dataclass(frozen=True)
class RigUser:
    """One passwd-file entry; ``quota_mb`` overrides the server-wide quota rule."""

    name: str
    password: str
    home: Path
    quota_mb: int | None = None


def passwd_line(
    name: str,
    password: str,
    home: Path | None = None,
    quota_mb: int | None = None,
    ids: tuple[int, int] | None = None,
) -> str:
    """``key:{PLAIN.BASE64}pw:uid:gid:gecos:home:shell:extra``.

    ``ids`` (uid, gid) must be the mail uid: other users' imap processes (shared
    namespace) may only look up users whose reply carries their own uid.

    The key is :func:`passwd_key` of the name, matching ``username_format=%Mu``.
    """
    check_username(name)
    if ":" in str(home or ""):
        raise RigError(f"home {home} must not contain ':' (passwd-file field separator)")
    encoded = base64.b64encode(password.encode("utf-8")).decode("ascii")
    extra = f"userdb_quota_rule=*:storage={quota_mb}M" if quota_mb else ""
    uid, gid = (str(ids[0]), str(ids[1])) if ids else ("", "")
    fields = [
        passwd_key(name),
        "{PLAIN.BASE64}" + encoded,
        uid,
        gid,
        "",
        str(home or ""),
        "",
        extra,
    ]
    return ":".join(fields)


def passwd_key(name: str) -> str:
    """How Dovecot names a user's passwd-file and its key in it: ``%Mu``, the MD5 hex."""
    return hashlib.md5(name.encode("utf-8")).hexdigest()


def write_passwd_file(path: Path, lines: list[str]) -> bool:
    """Atomically replace ``path`` and give it a strictly newer whole-second mtime.

    Dovecot rereads a passwd-file when its mtime (seconds) or size changes; bumping the
    mtime makes a same-size rewrite within one second visible too. Returns whether the
    file existed before (then the caller must :func:`wait_for_next_second`).
    """
    previous = int(path.stat().st_mtime) if path.exists() else 0
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    stamp = max(int(time.time()), previous + 1)
    os.utime(tmp, (stamp, stamp))
    existed = path.exists()
    os.replace(tmp, path)
    return existed


def wait_for_next_second() -> None:
    """Dovecot re-stats a passwd-file at most once per second: let that second pass."""
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.01)


@dataclass(frozen=True)
class RigAccount:
    """Credentials handed to a test: log in with ``name`` / ``password``."""

    name: str
    password: str
