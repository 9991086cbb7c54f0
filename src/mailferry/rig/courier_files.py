"""The files of one rig Courier IMAP instance, and the script that starts it.

Debian's Courier is unpacked, not installed (``scripts/setup-courier.sh``: it conflicts
with ``dovecot-imapd``), under ``/opt/mailferry-courier`` or ``$MAILFERRY_COURIER_ROOT``.
Its authentication library has compiled-in paths: ``/etc/courier/authdaemonrc``,
``/etc/courier/userdb.dat`` (and ``userdbshadow.dat``), the authdaemond socket
``/run/courier/authdaemon/socket`` and the modules in ``/usr/lib/courier-authlib``. So
the launcher script runs in a mount namespace of its own (``unshare --mount``, which
needs root) and bind-mounts this instance's directories over those paths, and copies of
``/etc/passwd`` and ``/etc/group`` that add the ``courier`` user imaplogin runs
``couriertls`` as. Nothing outside the instance's directory is changed; the mount points
``/etc/courier`` and ``/usr/lib/courier-authlib`` are empty directories the setup made.

Accounts live in a userdb (authlib's ``authuserdb``): ``userdb.dat`` with uid, gid,
home, maildir and options, ``userdbshadow.dat`` with the password hash, both written
with the tree's own ``makedatprog``. An ``admin`` account is in the account group
``administrators``, which Courier grants every right on every folder it can reach.
Accounts with a ``shared_group`` are listed in the virtual shared-folder index under
that group (``shared/index`` names the group's file), so an administrator sees their
folders as ``#shared.<group>.<name>...`` (Courier writes a ``.`` in a name as a space).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mailferry.rig.errors import RigError

COURIER_ROOT_ENV = "MAILFERRY_COURIER_ROOT"
DEFAULT_COURIER_ROOT = Path("/opt/mailferry-courier")
MOUNT_POINTS = (Path("/etc/courier"), Path("/usr/lib/courier-authlib"))
_FORBIDDEN = frozenset("\t\r\n\0|")
_LIB_DIRS = ("usr/lib", "usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu")
_CAPABILITY = (
    "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
)


@dataclass(frozen=True)
class CourierTree:
    """Where the unpacked Courier lives, and its programs."""

    root: Path

    @classmethod
    def find(cls) -> CourierTree:
        """The tree of ``$MAILFERRY_COURIER_ROOT`` (default /opt/mailferry-courier)."""
        tree = cls(Path(os.environ.get(COURIER_ROOT_ENV) or DEFAULT_COURIER_ROOT))
        missing = [str(p) for p in tree.programs() if not os.access(p, os.X_OK)]
        if missing:
            raise RigError(
                f"Courier IMAP is not unpacked under {tree.root} (missing {missing[0]}): "
                "run scripts/setup-courier.sh (as root)"
            )
        return tree

    def programs(self) -> tuple[Path, ...]:
        return (
            self.imapd,
            self.imaplogin,
            self.couriertcpd,
            self.couriertls,
            self.authdaemond,
            self.makedatprog,
            self.gam_server,
        )

    @property
    def imapd(self) -> Path:
        return self.root / "usr/bin/imapd"

    @property
    def imaplogin(self) -> Path:
        return self.root / "usr/lib/courier/courier/imaplogin"

    @property
    def couriertcpd(self) -> Path:
        return self.root / "usr/sbin/couriertcpd"

    @property
    def couriertls(self) -> Path:
        return self.root / "usr/bin/couriertls"

    @property
    def authdaemond(self) -> Path:
        return self.root / "usr/lib/courier/courier-authlib/authdaemond"

    @property
    def makedatprog(self) -> Path:
        return self.root / "usr/lib/courier/courier-authlib/makedatprog"

    @property
    def gam_server(self) -> Path:
        """gamin's file-alteration monitor: without it every SELECT waits 1.25 s."""
        return self.root / "usr/libexec/gam_server"

    @property
    def authlib_modules(self) -> Path:
        return self.root / "usr/lib/courier-authlib"

    @property
    def library_path(self) -> str:
        return ":".join(str(self.root / d) for d in _LIB_DIRS)


@dataclass(frozen=True)
class CourierAccount:
    """One userdb entry (see the module docstring for ``admin`` and ``shared_group``)."""

    name: str
    password: str
    home: Path
    admin: bool = False
    shared_group: str | None = None

    def __post_init__(self) -> None:
        for what, text in (("name", self.name), ("home", str(self.home))):
            if not text or _FORBIDDEN.intersection(text):
                raise RigError(f"Courier account {what} {text!r}: empty, or has TAB, CR, LF, | ")
        if self.shared_group is not None and not self.shared_group.isalnum():
            raise RigError(f"shared group {self.shared_group!r}: letters and digits only")

    @property
    def maildir(self) -> Path:
        return self.home / "Maildir"


def password_hash(password: str) -> str:
    """authlib's ``{SHA256}`` form: base64 of the SHA-256 digest."""
    digest = hashlib.sha256(password.encode("utf-8")).digest()
    return "{SHA256}" + base64.b64encode(digest).decode("ascii")


def write_userdb(
    tree: CourierTree, etc: Path, accounts: Iterable[CourierAccount], ids: tuple[int, int]
) -> None:
    """``userdb.dat`` and ``userdbshadow.dat`` (each replaced atomically by makedatprog)."""
    uid, gid = ids
    main, shadow = [], []
    for account in accounts:
        options = "|options=group=administrators" if account.admin else ""
        main.append(
            f"{account.name}\tuid={uid}|gid={gid}|home={account.home}"
            f"|mail={account.maildir}{options}|_=\n"
        )
        shadow.append(f"{account.name}\tsystempw={password_hash(account.password)}\n")
    _makedat(tree, "".join(main), etc / "userdb.tmp", etc / "userdb.dat")
    _makedat(tree, "".join(shadow), etc / "userdbshadow.tmp", etc / "userdbshadow.dat")
    (etc / "userdbshadow.dat").chmod(0o600)


def _makedat(tree: CourierTree, lines: str, tmp: Path, dat: Path) -> None:
    done = subprocess.run(
        [str(tree.makedatprog), "-", str(tmp), str(dat)],
        input=(lines + ".\n").encode("utf-8"),
        capture_output=True,
        env={"LD_LIBRARY_PATH": tree.library_path, "PATH": "/usr/bin:/bin"},
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise RigError(f"makedatprog {dat} exited {done.returncode}: {done.stderr!r}")


def write_shared_index(etc: Path, accounts: Iterable[CourierAccount], ids: tuple[int, int]) -> None:
    """``shared/index`` (one line per group) and a file per group listing its accounts."""
    groups: dict[str, list[CourierAccount]] = {}
    for account in accounts:
        if account.shared_group is not None:
            groups.setdefault(account.shared_group, []).append(account)
    shared = etc / "shared"
    shared.mkdir(exist_ok=True)
    for group, members in groups.items():
        lines = [f"{a.name}\t{ids[0]}\t{ids[1]}\t{a.home}\tMaildir\n" for a in members]
        _replace(shared / group, "".join(lines))
    _replace(shared / "index", "".join(f"{group}\t*\t{group}\n" for group in groups))


def write_nss(nss: Path, ids: tuple[int, int]) -> None:
    """Copies of /etc/passwd and /etc/group with a ``courier`` user (for couriertls)."""
    nss.mkdir(exist_ok=True)
    passwd = [line for line in _lines("/etc/passwd") if not line.startswith("courier:")]
    group = [line for line in _lines("/etc/group") if not line.startswith("courier:")]
    passwd.append(f"courier:x:{ids[0]}:{ids[1]}:Courier mail server:/nonexistent:/bin/false")
    if not any(line.split(":")[2:3] == [str(ids[1])] for line in group):
        group.append(f"courier:x:{ids[1]}:")
    _replace(nss / "passwd", "".join(line + "\n" for line in passwd))
    _replace(nss / "group", "".join(line + "\n" for line in group))


def write_authdaemonrc(etc: Path) -> None:
    _replace(
        etc / "authdaemonrc",
        'authmodulelist="authuserdb"\ndaemons=3\nauthdaemonvar=/run/courier/authdaemon\n'
        'DEBUG_LOGIN=0\nDEFAULTOPTIONS=""\nLOGGEROPTS=""\n',
    )


def _lines(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8", errors="surrogateescape").splitlines()


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Launch:
    """One start of one instance: its directories, ports and gamin client id."""

    instance: str
    root: Path
    host: str
    imap_port: int
    imaps_port: int | None

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log"


def imapd_environment(tree: CourierTree, launch: Launch) -> dict[str, str]:
    """What Debian's ``/etc/courier/imapd`` and ``imapd-ssl`` would set, for the rig.

    Changed from Debian's defaults: no automatic purge of old Trash mail (a corpus
    is years old), gamin pointed at the tree's gam_server with this instance's id.
    """
    return {
        "PATH": "/usr/bin:/bin",
        "LD_LIBRARY_PATH": tree.library_path,
        "IMAP_CAPABILITY": _CAPABILITY,
        "IMAP_CAPABILITY_TLS": f"{_CAPABILITY} AUTH=PLAIN",
        "IMAP_KEYWORDS": "1",
        "IMAP_ACL": "1",
        "IMAP_PROXY": "0",
        "IMAP_IDLE_TIMEOUT": "60",
        "IMAP_MAILBOX_SANITY_CHECK": "1",
        "IMAP_DISABLETHREADSORT": "0",
        "IMAP_CHECK_ALL_FOLDERS": "0",
        "IMAP_OBSOLETE_CLIENT": "0",
        "IMAP_UMASK": "022",
        "IMAP_USELOCKS": "1",
        "IMAP_SHAREDINDEXFILE": "/etc/courier/shared/index",
        "IMAP_ENHANCEDIDLE": "0",
        "IMAP_TRASHFOLDERNAME": "Trash",
        "IMAP_EMPTYTRASH": "",
        "IMAP_MOVE_EXPUNGE_TO_TRASH": "0",
        "IMAP_TLS_REQUIRED": "0",
        "IMAP_STARTTLS": "YES" if launch.imaps_port is not None else "NO",
        "COURIERTLS": str(tree.couriertls),
        "TLS_CERTFILE": "/etc/courier/imapd.pem",
        "TLS_PROTOCOL": "TLS1_2+",
        "TLS_STARTTLS_PROTOCOL": "TLS1_2+",
        "TLS_VERIFYPEER": "NONE",
        "TLS_CACHEFILE": "",
        "MAILDIRPATH": "Maildir",
        "GAM_CLIENT_ID": launch.instance,
        "GAMIN_DEBUG_SERVER": str(tree.gam_server),
    }


def launcher_script(tree: CourierTree, launch: Launch) -> str:
    """The ``sh`` script ``unshare --mount`` runs: mounts, authdaemond, two listeners
    (the implicit-TLS one as Debian's ``imapd-ssl`` sets it up: ``IMAP_TLS=1``, so
    ``AUTH=PLAIN`` is offered, and no STARTTLS)."""
    q = shlex.quote
    root, log = launch.root, launch.log
    tcpd = (
        f"{q(str(tree.couriertcpd))} -address={launch.host} -nodnslookup -noidentlookup "
        "-maxprocs=200 -maxperip=200"
    )
    session = f"{q(str(tree.imaplogin))} {q(str(tree.imapd))} Maildir"
    env = "".join(f"export {k}={q(v)}\n" for k, v in imapd_environment(tree, launch).items())
    imaps = (
        f"IMAP_TLS=1 IMAP_STARTTLS=NO {tcpd} -stderr={q(str(log / 'imaps.log'))} "
        f"{launch.imaps_port} {q(str(tree.couriertls))} -server -tcpd {session} &\n"
        if launch.imaps_port is not None
        else ""
    )
    return f"""#!/bin/sh
# generated by mailferry.rig - run as: unshare --mount --propagation private sh <this>
set -eu
mount --bind {q(str(launch.etc))} /etc/courier
mount --bind {q(str(root / "nss/passwd"))} /etc/passwd
mount --bind {q(str(root / "nss/group"))} /etc/group
mount -t tmpfs -o mode=0755 mailferry-courier /run
mkdir -p /run/courier
mount --bind {q(str(root / "run"))} /run/courier
mount --bind {q(str(tree.authlib_modules))} /usr/lib/courier-authlib
rm -f /run/courier/authdaemon/socket /run/courier/authdaemon/pid  # from a previous start
{env}{q(str(tree.authdaemond))} >>{q(str(log / "authdaemond.log"))} 2>&1 &
tries=0
while [ ! -S /run/courier/authdaemon/socket ]; do
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || {{ echo "authdaemond made no socket" >&2; exit 1; }}
    sleep 0.05
done
{imaps}exec {tcpd} -stderr={q(str(log / "imap.log"))} {launch.imap_port} {session}
"""
