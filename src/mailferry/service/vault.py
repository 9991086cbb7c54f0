"""Credential encryption at rest: passwords and tokens are stored as Fernet tokens.

Fernet is AES-128-CBC with an HMAC-SHA256 over the ciphertext, so a wrong key and a
tampered token are both detected (and reported the same way: ``VaultError``). The key
comes from a 0600 key file that ``load_or_create_key`` creates on first run, or from
the ``MAILFERRY_KEY`` environment variable (read by the interfaces, checked here by
``key_from_text``). No message raised here ever contains a key or a secret.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mailferry.errors import VaultError

_READ_ATTEMPTS = 50  # a key file being written by another process (no hard links)
_READ_PAUSE = 0.02


class Vault:
    """Encrypts and decrypts secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(_checked_key(key, "the vault key"))

    def __repr__(self) -> str:
        return "Vault(key=...)"

    @staticmethod
    def generate_key() -> bytes:
        return Fernet.generate_key()

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, TypeError, ValueError):
            raise VaultError(
                "can't decrypt a stored secret: wrong vault key or corrupt data"
            ) from None


def key_from_text(text: str) -> bytes:
    """The key given as text (``MAILFERRY_KEY``), checked to be a Fernet key."""
    try:
        key = text.strip().encode("ascii")
    except UnicodeEncodeError:
        raise VaultError("the vault key is not a valid Fernet key (non-ASCII text)") from None
    return _checked_key(key, "the vault key")


def load_or_create_key(path: Path) -> bytes:
    """Read the key file at ``path``, creating it (0600, parents 0700) on first run.

    Creation is atomic even when several processes start at once: the key is written
    to a private temporary file and hard-linked into place, so exactly one key wins
    and nobody reads a half-written file. A key file readable or writable by group or
    others, or holding anything but a Fernet key, is refused.
    """
    path = Path(path)
    if not path.exists():
        _make_private_dirs(path.parent)
        _create_key_file(path)
    return _read_key_file(path)


def _checked_key(key: bytes, what: str) -> bytes:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise VaultError(f"{what} is not a valid Fernet key (32 url-safe base64 bytes)") from None
    return key


def _make_private_dirs(directory: Path) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            created.mkdir(mode=0o700)
            os.chmod(created, 0o700)  # mkdir's mode is reduced by the umask


def _create_key_file(path: Path) -> None:
    key = Fernet.generate_key() + b"\n"
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    try:
        _write_new(temp, key)
        try:
            os.link(temp, path)
        except FileExistsError:
            return  # another process won the race: its key is the key
        except OSError:
            _create_in_place(path, key)  # a filesystem without hard links
    except OSError as exc:
        raise VaultError(f"can't create the vault key file {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _create_in_place(path: Path, key: bytes) -> None:
    with contextlib.suppress(FileExistsError):
        _write_new(path, key)


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key_file(path: Path) -> bytes:
    for _ in range(_READ_ATTEMPTS):
        content = _read_private(path)
        if content.strip():
            return _checked_key(content.strip(), f"the vault key file {path}")
        time.sleep(_READ_PAUSE)  # only without hard links: the writer is mid-write
    raise VaultError(f"the vault key file {path} is empty")


def _read_private(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise VaultError(f"can't read the vault key file {path}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise VaultError(f"the vault key file {path} is not a regular file")
        if mode & 0o077:
            raise VaultError(
                f"the vault key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run chmod 600 on it"
            )
        return os.read(fd, 4096)
    finally:
        os.close(fd)
