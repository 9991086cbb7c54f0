"""A real Dovecot instance on free loopback ports, with its own config, users and mail.

Everything lives under ``root``: ``dovecot.conf``, ``log/dovecot.log``, the passwd-files,
the TLS certificate and ``mail/<escaped username>/`` homes. Nothing is read from
``/etc/dovecot``. Works as root (mail is then owned by the ``dovecot`` system user,
because Dovecot refuses mail access as root) and unprivileged (everything runs as the
current user). As root, ``root`` must stay traversable for the ``dovecot`` user: the
constructor adds the search bit where it is missing, but pytest re-chmods
``/tmp/pytest-of-<user>`` to 0700 at every session start, so use a directory from
``tempfile.mkdtemp()`` (mode 0755) rather than ``tmp_path``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from mailferry.rig import process
from mailferry.rig.certs import RigCA
from mailferry.rig.config import (
    DovecotLayout,
    DovecotOptions,
    OAuth2Passdb,
    Storage,
    global_acl,
    render_config,
    render_oauth2_config,
)
from mailferry.rig.errors import DoveadmError, DovecotStartError, RigError
from mailferry.rig.maildir import MessageLike, WriteStats, write_maildir
from mailferry.rig.ownership import MailOwner, mail_owner
from mailferry.rig.users import (
    RigUser,
    passwd_key,
    passwd_line,
    safe_dirname,
    wait_for_next_second,
    write_passwd_file,
)

_MAX_BASE_DIR = 70  # unix socket paths under base_dir must stay below 108 bytes
_START_ATTEMPTS = 3
_OAUTH2_FILE = "dovecot-oauth2.conf.ext"
_instances = itertools.count(1)


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/sbin")
    if found is None:
        raise RigError(f"{name} is not installed (Debian: apt-get install dovecot-imapd)")
    return found


class DovecotServer:
    """One Dovecot master process; see the module docstring for the directory layout."""

    host = "127.0.0.1"

    def __init__(
        self,
        root: Path,
        ca: RigCA,
        *,
        name: str = "dovecot",
        storage: Storage = "maildir",
        separator: str = ".",
        fsync: bool = True,
        quota: bool = False,
        quota_mb: int = 1024,
        max_userip_connections: int = 50,
        login_disabled: bool = False,
        shared_namespace: bool = False,
        master_separator: str = "*",
        auth_delays: bool = False,
        tls: bool = True,
        inbox_prefix: bool = False,
        acl_rules: tuple[str, ...] = (),
        oauth2: OAuth2Passdb | None = None,
        gmail_namespace: bool = False,
        start_timeout: float = 10.0,
    ) -> None:
        self.options = DovecotOptions(
            storage=storage,
            separator=separator,
            fsync=fsync,
            quota=quota,
            quota_mb=quota_mb,
            max_userip_connections=max_userip_connections,
            login_disabled=login_disabled,
            shared_namespace=shared_namespace,
            master_separator=master_separator,
            auth_delays=auth_delays,
            tls=tls,
            inbox_prefix=inbox_prefix,
            acl_rules=acl_rules,
            oauth2=oauth2,
            gmail_namespace=gmail_namespace,
        )
        self.name = name
        self.ca = ca
        self.root = Path(root).resolve()
        self.mail_root = self.root / "mail"
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "log" / "dovecot.log"
        self.start_timeout = start_timeout
        self.owner: MailOwner = mail_owner()
        self.users: dict[str, RigUser] = {}
        self.master_users: dict[str, str] = {}
        self._instance = f"mailferry-{name}-{os.getpid()}-{next(_instances)}"
        self._ports: tuple[int, int] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._short_base_dir: Path | None = None
        self._prepare_dirs()

    # -- properties -------------------------------------------------------------------

    @property
    def imap_port(self) -> int:
        """Plaintext port (STARTTLS offered); known once started."""
        return self._require_ports()[0]

    @property
    def imaps_port(self) -> int:
        """Implicit-TLS port; known once started (none when ``tls=False``)."""
        if not self.options.tls:
            raise RigError(f"{self.name}: started with tls=False, so there is no imaps port")
        return self._require_ports()[1]

    @property
    def ca_pem_path(self) -> Path:
        """The CA certificate a client must trust to verify this server."""
        return self.ca.ca_pem_path

    @property
    def mail_location(self) -> str:
        """Dovecot's ``mail_location``, relative to each user's home (``~``)."""
        return self.options.mail_location

    @property
    def storage(self) -> Storage:
        return self.options.storage

    @property
    def separator(self) -> str:
        return self.options.separator

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def pids(self) -> list[int]:
        """The master and all its live descendants (empty once stopped)."""
        if self._proc is None:
            return []
        return [p.pid for p in process.process_tree(self._proc.pid)]

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's CA."""
        return self.ca.client_context()

    # -- users ------------------------------------------------------------------------

    def user_home(self, name: str) -> Path:
        return self.mail_root / safe_dirname(name)

    def user_mail_dir(self, name: str) -> Path:
        """The user's mail store (for maildir: the Maildir++ root that is INBOX)."""
        return self.user_home(name) / self.options.mail_dir_name

    def add_user(self, name: str, password: str, *, quota_mb: int | None = None) -> RigUser:
        """Create or update a user; effective for the next login (also while running)."""
        home = self.user_home(name)
        for other in self.users.values():
            if other.home == home and other.name != name:
                raise RigError(f"users {name!r} and {other.name!r} map to the same home")
        user = RigUser(name=name, password=password, home=home, quota_mb=quota_mb)
        line = passwd_line(name, password, home, quota_mb, (self.owner.uid, self.owner.gid))
        existed = write_passwd_file(self._passwd_dir / passwd_key(name), [line])
        self.users[name] = user
        self._write_shared_dict()
        if existed and self.is_running:
            wait_for_next_second()
        return user

    def remove_user(self, name: str) -> None:
        """Forget the user (logins fail from now on); the mail stays until reset_user."""
        (self._passwd_dir / passwd_key(name)).unlink(missing_ok=True)
        self.users.pop(name, None)
        self._write_shared_dict()

    def add_master_user(self, name: str, password: str) -> None:
        """A master user logs in as anyone: ``user*name`` or PLAIN authzid=user."""
        self.master_users[name] = password
        lines = [passwd_line(n, p) for n, p in self.master_users.items()]
        write_passwd_file(self._masters_path, lines)
        if self.is_running:
            wait_for_next_second()

    def reset_user(self, name: str) -> None:
        """Delete the user's home (all mail and indexes); the login itself stays."""
        shutil.rmtree(self.user_home(name), ignore_errors=True)

    def give_to_mail_user(self, path: Path) -> None:
        """Hand files written by this process over to the uid Dovecot reads mail as."""
        self.owner.chown_tree(path)

    def write_maildir(
        self, name: str, messages: Iterable[MessageLike], *, extra_folders: Iterable[str] = ()
    ) -> WriteStats:
        """Write messages (e.g. a generated corpus) straight into the user's Maildir.

        Only for ``storage="maildir"``; Dovecot indexes the files on first access, so
        do this before the user's first login or expect a resync.
        """
        if self.options.storage != "maildir":
            raise RigError(f"write_maildir needs maildir storage, not {self.options.storage}")
        stats = write_maildir(self.user_mail_dir(name), messages, extra_folders=extra_folders)
        self.give_to_mail_user(self.user_home(name))
        return stats

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> DovecotServer:
        """Start and wait for the greeting; retries with new ports if one was taken."""
        if self.is_running:
            return self
        for attempt in range(1, _START_ATTEMPTS + 1):
            ports = process.free_ports(2, self.host)
            self._ports = (ports[0], ports[1])
            self.config_path.write_text(render_config(self._layout(), self.options))
            if self.options.oauth2 is not None:
                (self.root / _OAUTH2_FILE).write_text(render_oauth2_config(self.options.oauth2))
            self._spawn()
            try:
                self._wait_ready()
                return self
            except DovecotStartError as exc:
                self._reap()
                if "Address already in use" not in exc.log_tail or attempt == _START_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the master and every child; idempotent."""
        self._reap()
        if self._short_base_dir is not None:
            shutil.rmtree(self._short_base_dir, ignore_errors=True)
            self._short_base_dir = None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        chunks = []
        for path in (self.log_path, self.root / "log" / "stdout.log"):
            if path.exists():
                chunks.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(chunks)

    def doveadm(
        self, *args: str, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``doveadm -c <this config> *args`` (e.g. ``mailbox status -u alice all INBOX``)."""
        cmd = [_binary("doveadm"), "-c", str(self.config_path), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise DoveadmError(tuple(args), done.returncode, done.stderr)
        return done

    # -- internals --------------------------------------------------------------------

    @property
    def _passwd_dir(self) -> Path:
        return self.root / "passwd.d"

    @property
    def _masters_path(self) -> Path:
        return self.root / "masters.passwd"

    def _require_ports(self) -> tuple[int, int]:
        if self._ports is None:
            raise RigError(f"{self.name}: ports are chosen by start()")
        return self._ports

    def _base_dir(self) -> Path:
        base = self.root / "run"
        if len(str(base)) <= _MAX_BASE_DIR:
            return base
        if self._short_base_dir is None:
            self._short_base_dir = Path(tempfile.mkdtemp(prefix="mfdv-"))
        return self._short_base_dir

    def _prepare_dirs(self) -> None:
        for path in (self.root, self.root / "log", self.root / "state", self._passwd_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.mail_root.mkdir(parents=True, exist_ok=True)
        self.owner.make_reachable(self.mail_root)
        self.owner.chown_tree(self.mail_root)
        if not self._masters_path.exists():
            write_passwd_file(self._masters_path, [])
        (self.root / "global-acl").write_text(global_acl(self.options))
        self._write_shared_dict()
        cert = self.ca.issue(self.root / "tls")
        self._cert_path, self._key_path = cert.cert_path, cert.key_path

    def _write_shared_dict(self) -> None:
        """The acl plugin's list of users whose folders show under ``users/``."""
        path = self.root / "shared-mailboxes.dict"
        text = "".join(f"shared/shared-boxes/anyone/{name}\n1\n" for name in self.users)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def _layout(self) -> DovecotLayout:
        imap_port, imaps_port = self._require_ports()
        return DovecotLayout(
            instance_name=self._instance,
            base_dir=self._base_dir(),
            state_dir=self.root / "state",
            log_path=self.log_path,
            passwd_dir=self._passwd_dir,
            masters_path=self._masters_path,
            cert_path=self._cert_path,
            key_path=self._key_path,
            host=self.host,
            imap_port=imap_port,
            imaps_port=imaps_port,
            internal_user=self.owner.internal_user,
            internal_group=self.owner.internal_group,
            login_user=self.owner.login_user,
            mail_uid=self.owner.uid,
            mail_gid=self.owner.gid,
            acl_path=self.root / "global-acl",
            shared_dict_path=self.root / "shared-mailboxes.dict",
            oauth2_path=self.root / _OAUTH2_FILE if self.options.oauth2 else None,
        )

    def _spawn(self) -> None:
        stdout = (self.root / "log" / "stdout.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                [_binary("dovecot"), "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=process.die_with_parent(),
            )
        finally:
            stdout.close()

    def _wait_ready(self) -> None:
        """Until the plaintext greeting arrives and a verified TLS handshake succeeds."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise DovecotStartError(
                    f"{self.name}: dovecot exited with {self._proc.returncode}", self.log_tail()
                )
            if self._greets():
                return
            time.sleep(0.05)
        raise DovecotStartError(
            f"{self.name}: no IMAP greeting on {self.host}:{self.imap_port} "
            f"within {self.start_timeout:g} s",
            self.log_tail(),
        )

    def _greets(self) -> bool:
        try:
            if not process.read_greeting(self.host, self.imap_port, 2.0).startswith(b"* OK"):
                return False
            if not self.options.tls:
                return True
            tls = process.tls_greeting(self.host, self.imaps_port, self.ssl_context(), 2.0)
        except ssl.SSLError as exc:
            time.sleep(0.2)  # let the login process log why
            tail = self.log_tail()
            raise DovecotStartError(f"{self.name}: TLS does not work: {exc}", tail) from exc
        except OSError:
            return False
        return tls.startswith(b"* OK")

    def _reap(self) -> None:
        if self._proc is not None:
            process.terminate(self._proc)
            self._proc = None


def make_ca(directory: Path, name: str = "ca") -> RigCA:
    """A fresh throw-away CA (e.g. the "wrong CA" a client must reject)."""
    return RigCA.create(directory, name)


__all__ = ["DovecotServer", "make_ca"]
