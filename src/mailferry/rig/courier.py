"""A real Courier IMAP (Debian's, unpacked) on free loopback ports, with users and mail.

Everything lives under ``root``: ``etc/`` (what Courier reads as ``/etc/courier``: the
userdb, the shared-folder index, ``imapd.pem``), ``run/`` (the authdaemond socket),
``nss/`` (passwd and group with a ``courier`` user), ``log/`` (``imap.log``,
``imaps.log``, ``authdaemond.log``, ``start.log``), ``start.sh`` and the homes
``mail/<escaped name>/Maildir``. How the compiled-in paths are redirected: see
:mod:`mailferry.rig.courier_files`. Needs root (a mount namespace, and Courier's
login sets the user's groups); mail is owned by the rig's mail user (``dovecot``), so
use a directory from ``tempfile.mkdtemp()`` (mode 0755) as with ``DovecotServer``.

Courier's layout, as the tests meet it: the personal namespace is ``INBOX.`` with the
``.`` delimiter, every folder lives under INBOX; virtual shared folders are
``#shared.<group>.<user>`` (see ``add_user``), which only ``LIST "" "#shared.*"``
shows; plaintext LOGIN, STARTTLS on the plaintext port, implicit TLS on ``imaps_port``,
``AUTH=PLAIN`` only once TLS is up.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import psutil

from mailferry.rig import process
from mailferry.rig.certs import RigCA
from mailferry.rig.courier_files import (
    MOUNT_POINTS,
    CourierAccount,
    CourierTree,
    Launch,
    launcher_script,
    write_authdaemonrc,
    write_nss,
    write_shared_index,
    write_userdb,
)
from mailferry.rig.errors import CourierStartError, RigError
from mailferry.rig.imap_fill import append_messages
from mailferry.rig.maildir import MessageLike, WriteStats
from mailferry.rig.ownership import MailOwner, mail_owner
from mailferry.rig.users import safe_dirname

_START_ATTEMPTS = 3
_instances = itertools.count(1)


def courier_folder(folder: str) -> str:
    """A corpus folder (``/``-separated, e.g. ``Archive/2019``) as Courier names it
    (``INBOX.Archive.2019``); ``INBOX/x`` is ``INBOX.x``, since all folders are under INBOX."""
    parts = folder.split("/")
    if parts[0].upper() == "INBOX":
        parts = parts[1:]
    if any(not part or "." in part for part in parts):
        raise RigError(f"folder {folder!r}: Courier cannot hold a '.' or an empty level")
    return ".".join(["INBOX", *parts])


class CourierServer:
    """One Courier IMAP: authdaemond and two couriertcpd listeners in a mount namespace."""

    host = "127.0.0.1"
    delimiter = "."
    personal_prefix = "INBOX."

    def __init__(
        self,
        root: Path,
        ca: RigCA,
        *,
        name: str = "courier",
        tls: bool = True,
        start_timeout: float = 15.0,
    ) -> None:
        if os.geteuid() != 0:
            raise RigError("CourierServer needs root (a mount namespace; Courier sets groups)")
        self.tree = CourierTree.find()
        self.name = name
        self.ca = ca
        self.tls = tls
        self.root = Path(root).resolve()
        self.start_timeout = start_timeout
        self.owner: MailOwner = mail_owner()
        self.accounts: dict[str, CourierAccount] = {}
        self._instance = f"mfcourier-{os.getpid()}-{next(_instances)}"
        self._ports: tuple[int, int] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._prepare_dirs()

    # -- properties -------------------------------------------------------------------

    @property
    def imap_port(self) -> int:
        """Plaintext port (STARTTLS offered unless ``tls=False``); known once started."""
        return self._require_ports()[0]

    @property
    def imaps_port(self) -> int:
        """Implicit-TLS port; known once started."""
        if not self.tls:
            raise RigError(f"{self.name}: started with tls=False, so there is no imaps port")
        return self._require_ports()[1]

    @property
    def ca_pem_path(self) -> Path:
        return self.ca.ca_pem_path

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The launcher's pid, which becomes the plaintext couriertcpd's."""
        return self._proc.pid if self._proc is not None else None

    def pids(self) -> list[int]:
        """The launcher (then couriertcpd), its descendants and this instance's gam_server."""
        if self._proc is None:
            return []
        tree = [p.pid for p in process.process_tree(self._proc.pid)]
        return tree + [p.pid for p in self._gam_servers()]

    def ssl_context(self) -> ssl.SSLContext:
        return self.ca.client_context()

    # -- users ------------------------------------------------------------------------

    def user_home(self, name: str) -> Path:
        return self.root / "mail" / safe_dirname(name)

    def user_mail_dir(self, name: str) -> Path:
        """The user's Maildir (its root is INBOX, ``.Sent`` is ``INBOX.Sent``)."""
        return self.user_home(name) / "Maildir"

    def add_user(
        self, name: str, password: str, *, admin: bool = False, shared_group: str | None = None
    ) -> CourierAccount:
        """Create or update an account, effective for the next login.

        ``admin``: in Courier's ``administrators`` group (every right on every folder
        it can reach). ``shared_group``: listed in the virtual shared-folder index under
        that group, so an admin finds the user's INBOX at ``#shared.<group>.<name>``
        and its folders below (a ``.`` in ``name`` shows as a space).
        """
        account = CourierAccount(name, password, self.user_home(name), admin, shared_group)
        self.accounts[name] = account
        _make_maildir(account.maildir)
        self.owner.chown_tree(account.home)
        self._write_accounts()
        return account

    def remove_user(self, name: str) -> None:
        """Forget the account (its mail stays on disk)."""
        self.accounts.pop(name, None)
        self._write_accounts()

    def fill(self, name: str, messages: Iterable[MessageLike]) -> WriteStats:
        """APPEND ``messages`` (corpus folders, see :func:`courier_folder`) as ``name``."""
        if not self.is_running:
            raise RigError(f"{self.name}: fill() needs the server running")
        account = self.accounts[name]
        return append_messages(
            (self.host, self.imap_port),
            (account.name, account.password),
            messages,
            courier_folder,
            self.delimiter,
        )

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> CourierServer:
        """Start and wait for the greetings; retries with new ports if one was taken."""
        if self.is_running:
            return self
        for attempt in range(1, _START_ATTEMPTS + 1):
            ports = process.free_ports(2, self.host)
            self._ports = (ports[0], ports[1])
            self._spawn()
            try:
                self._wait_ready()
                return self
            except CourierStartError as exc:
                self.stop()
                if "Address already in use" not in exc.log_tail or attempt == _START_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop every process of this instance (gam_server included); idempotent."""
        if self._proc is not None:
            process.terminate(self._proc)
            self._proc = None
        leftovers = self._gam_servers()
        for leftover in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()
        process.wait_gone(leftovers, 2.0)  # not our child: gone, or a zombie

    def __enter__(self) -> CourierServer:
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
        for log in ("start.log", "authdaemond.log", "imap.log", "imaps.log"):
            path = self.root / "log" / log
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"[{log}]\n" + "\n".join(text))
        return "\n".join(chunks)

    # -- internals --------------------------------------------------------------------

    @property
    def _ids(self) -> tuple[int, int]:
        return (self.owner.uid, self.owner.gid)

    def _require_ports(self) -> tuple[int, int]:
        if self._ports is None:
            raise RigError(f"{self.name}: ports are chosen by start()")
        return self._ports

    def _prepare_dirs(self) -> None:
        for mount_point in MOUNT_POINTS:
            mount_point.mkdir(parents=True, exist_ok=True)  # setup-courier.sh makes them
        for sub in ("etc", "etc/shared", "run/authdaemon", "log", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.owner.make_reachable(self.root / "mail")
        write_authdaemonrc(self.root / "etc")
        write_nss(self.root / "nss", self._ids)
        cert = self.ca.issue(self.root / "tls")
        pem = self.root / "etc" / "imapd.pem"
        pem.write_bytes(cert.key_path.read_bytes() + cert.cert_path.read_bytes())
        pem.chmod(0o600)
        os.chown(pem, *self._ids)  # couriertls runs as the courier user
        self._write_accounts()

    def _write_accounts(self) -> None:
        accounts = list(self.accounts.values())
        write_userdb(self.tree, self.root / "etc", accounts, self._ids)
        write_shared_index(self.root / "etc", accounts, self._ids)

    def _spawn(self) -> None:
        imap_port, imaps_port = self._require_ports()
        launch = Launch(
            self._instance, self.root, self.host, imap_port, imaps_port if self.tls else None
        )
        script = self.root / "start.sh"
        script.write_text(launcher_script(self.tree, launch))
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        stdout = (self.root / "log" / "start.log").open("ab")
        try:
            self._proc = subprocess.Popen(
                [unshare, "--mount", "--propagation", "private", "/bin/sh", str(script)],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=process.die_with_parent(),
            )
        finally:
            stdout.close()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise CourierStartError(
                    f"{self.name}: the launcher exited with {self._proc.returncode}",
                    self.log_tail(),
                )
            if self._greets():
                return
            time.sleep(0.05)
        raise CourierStartError(
            f"{self.name}: no IMAP greeting on {self.host}:{self.imap_port} "
            f"within {self.start_timeout:g} s",
            self.log_tail(),
        )

    def _greets(self) -> bool:
        try:
            if not process.read_greeting(self.host, self.imap_port, 2.0).startswith(b"* OK"):
                return False
            if not self.tls:
                return True
            greeting = process.tls_greeting(self.host, self.imaps_port, self.ssl_context(), 2.0)
        except ssl.SSLError as exc:
            tail = self.log_tail()
            raise CourierStartError(f"{self.name}: TLS does not work: {exc}", tail) from exc
        except OSError:
            return False
        return greeting.startswith(b"* OK")

    def _gam_servers(self) -> list[psutil.Process]:
        """gamin daemonizes its server away from our tree: found by this instance's id."""
        found = []
        for candidate in psutil.process_iter(["exe"]):
            if candidate.info.get("exe") != str(self.tree.gam_server):
                continue
            with contextlib.suppress(psutil.Error):
                if candidate.environ().get("GAM_CLIENT_ID") == self._instance:
                    found.append(candidate)
        return [p for p in found if process.is_alive(p)]


def _make_maildir(maildir: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)


__all__ = ["CourierServer", "courier_folder"]
