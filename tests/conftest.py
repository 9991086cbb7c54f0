"""Session-wide real servers for every test layer.

Fixtures:
    test_ca          RigCA: the CA both servers' certificates chain to (trust it).
    wrong_ca         RigCA: an unrelated CA, for "certificate signed by someone else".
    dovecot_source   DovecotServer: maildir, "." separator, users below, master admin.
    dovecot_target   DovecotServer: sdbox, quota plugin (1 GiB default), same users.
    make_user        make_user(prefix="user", *, servers=(source, target), quota_mb=None)
                     -> RigAccount with a unique name, created on each server.
    corpus_account   CorpusAccount: a source user filled with the default small corpus.
    plain_dovecot    DovecotServer: tls=False (no STARTTLS, no imaps), standard users.
    login_disabled_dovecot
                     DovecotServer: advertises LOGINDISABLED; LOGIN and PLAIN refused.
    rig_root         Path: a fresh directory for a server a test starts itself.
    courier_server   CourierServer: Debian's Courier IMAP (unpacked by scripts/setup-courier.sh)
                     with the admin ``COURIER_ADMIN`` (group administrators); tests add
                     their users, e.g. ``add_user(name, pw, shared_group="users")`` for
                     ``/users/<name>`` in the admin's virtual shared folders.

Server directories live under ``mkdtemp(prefix="mailferry-rig-")`` (mode 0755), not
under pytest's tmp_path: as root, Dovecot reads mail as the ``dovecot`` user, and every
pytest session re-chmods ``/tmp/pytest-of-<user>`` to 0700, which would lock it out.

Both servers have the master user ``admin`` / ``adminpass`` (``user*admin`` or SASL
PLAIN with authzid) and the users in ``STANDARD_USERS``. Servers stop at session end
and the teardown fails if any of their processes is left.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from mailferry.rig import (
    CorpusSpec,
    DovecotServer,
    GeneratedMessage,
    RigAccount,
    RigCA,
    generate,
)
from mailferry.rig.courier import CourierServer
from mailferry.rig.process import is_alive

MASTER_USER = RigAccount("admin", "adminpass")
STANDARD_USERS: tuple[RigAccount, ...] = (
    RigAccount("alice", "alice-secret"),
    RigAccount("bob", "bob-secret"),
    RigAccount("terry.adams@contoso.example.com", "terry-secret"),
    RigAccount("contoso-students/mailadmin/terry.adams", "exchange-admin-secret"),
    RigAccount("#terry.adams@contoso.example.com#mailadmin#", "mirapoint-admin-secret"),
)
CORPUS_SPEC = CorpusSpec(seed=20240601, messages=300)
COURIER_ADMIN = RigAccount("mailadmin", "P@ssw0rd")  # the seed's Courier admin

MakeUser = Callable[..., RigAccount]


@dataclass(frozen=True)
class CorpusAccount:
    """A SOURCE user whose mailbox holds exactly ``messages`` (generated from ``spec``)."""

    account: RigAccount
    spec: CorpusSpec
    messages: tuple[GeneratedMessage, ...]


def _serve(server: DovecotServer) -> Iterator[DovecotServer]:
    server.add_master_user(MASTER_USER.name, MASTER_USER.password)
    for account in STANDARD_USERS:
        server.add_user(account.name, account.password)
    server.start()
    try:
        yield server
    finally:
        pids = server.pids()
        server.stop()
        left = [pid for pid in pids if _alive(pid)]
        assert not left, f"{server.name}: dovecot processes left after stop: {left}"


def _alive(pid: int) -> bool:
    try:
        return is_alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


def _reachable_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"mailferry-rig-{prefix}-"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def rig_session_root() -> Iterator[Path]:
    root = _reachable_dir("session")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def rig_root() -> Iterator[Path]:
    root = _reachable_dir("test")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> RigCA:
    return RigCA.create(tmp_path_factory.mktemp("ca"), "test-ca")


@pytest.fixture(scope="session")
def wrong_ca(tmp_path_factory: pytest.TempPathFactory) -> RigCA:
    return RigCA.create(tmp_path_factory.mktemp("wrong-ca"), "wrong-ca")


@pytest.fixture(scope="session")
def dovecot_source(rig_session_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    root = rig_session_root / "source"
    yield from _serve(DovecotServer(root, test_ca, name="source", storage="maildir"))


@pytest.fixture(scope="session")
def dovecot_target(rig_session_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    root = rig_session_root / "target"
    server = DovecotServer(root, test_ca, name="target", storage="sdbox", quota=True)
    yield from _serve(server)


@pytest.fixture(scope="session")
def plain_dovecot(rig_session_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    server = DovecotServer(rig_session_root / "plain", test_ca, name="plain", tls=False)
    yield from _serve(server)


@pytest.fixture(scope="session")
def login_disabled_dovecot(rig_session_root: Path, test_ca: RigCA) -> Iterator[DovecotServer]:
    root = rig_session_root / "login-disabled"
    server = DovecotServer(root, test_ca, name="login-disabled", login_disabled=True)
    yield from _serve(server)


@pytest.fixture(scope="session")
def courier_server(rig_session_root: Path, test_ca: RigCA) -> Iterator[CourierServer]:
    server = CourierServer(rig_session_root / "courier", test_ca)
    server.add_user(COURIER_ADMIN.name, COURIER_ADMIN.password, admin=True)
    server.start()
    try:
        yield server
    finally:
        pids = server.pids()
        server.stop()
        left = [(pid, psutil.Process(pid).name()) for pid in pids if _alive(pid)]
        assert not left, f"courier processes left after stop: {left}"


_user_numbers = itertools.count(1)


@pytest.fixture
def make_user(dovecot_source: DovecotServer, dovecot_target: DovecotServer) -> MakeUser:
    """Create a user nobody else uses, on the source and the target (or ``servers``)."""

    def make(
        prefix: str = "user",
        *,
        servers: Sequence[DovecotServer] | None = None,
        quota_mb: int | None = None,
    ) -> RigAccount:
        number = next(_user_numbers)
        account = RigAccount(f"{prefix}{number:04d}", f"pw-{prefix}-{number}")
        for server in servers if servers is not None else (dovecot_source, dovecot_target):
            server.add_user(account.name, account.password, quota_mb=quota_mb)
        return account

    return make


@pytest.fixture(scope="session")
def corpus_account(dovecot_source: DovecotServer) -> CorpusAccount:
    account = RigAccount("corpus-owner", "corpus-secret")
    dovecot_source.add_user(account.name, account.password)
    messages = tuple(generate(CORPUS_SPEC))
    dovecot_source.write_maildir(account.name, messages)
    return CorpusAccount(account, CORPUS_SPEC, messages)
