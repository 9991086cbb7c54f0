"""The credential vault: Fernet round trips, wrong keys, and the key file's safety rules."""

from __future__ import annotations

import multiprocessing
import os
import stat
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mailferry.errors import MailferryError, VaultError
from mailferry.service.vault import Vault, key_from_text, load_or_create_key

SECRET = "Sommer2026!-påskeæg"


def test_round_trip_of_unicode_secret() -> None:
    vault = Vault(Vault.generate_key())
    token = vault.encrypt(SECRET)
    assert isinstance(token, bytes)
    assert vault.decrypt(token) == SECRET


def test_two_encryptions_differ_and_do_not_contain_the_plaintext() -> None:
    vault = Vault(Vault.generate_key())
    first, second = vault.encrypt("hunter2hunter2"), vault.encrypt("hunter2hunter2")
    assert first != second  # random IV
    for token in (first, second):
        assert b"hunter2" not in token
        assert "hunter2".encode("utf-16-le") not in token


def test_wrong_key_raises_vault_error_without_secret_material() -> None:
    key, other = Vault.generate_key(), Vault.generate_key()
    token = Vault(key).encrypt(SECRET)
    with pytest.raises(VaultError) as info:
        Vault(other).decrypt(token)
    assert isinstance(info.value, MailferryError)
    text = str(info.value)
    assert "wrong vault key" in text
    for material in (SECRET, key.decode(), other.decode(), token.decode()):
        assert material not in text


@pytest.mark.parametrize("token", [b"", b"garbage", b"gAAAAAB" + b"A" * 80])
def test_corrupt_token_raises_vault_error(token: bytes) -> None:
    with pytest.raises(VaultError):
        Vault(Vault.generate_key()).decrypt(token)


def test_tampered_token_is_detected() -> None:
    vault = Vault(Vault.generate_key())
    token = bytearray(vault.encrypt(SECRET))
    token[40] = ord("A") if token[40] != ord("A") else ord("B")
    with pytest.raises(VaultError):
        vault.decrypt(bytes(token))


def test_invalid_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(VaultError) as info:
        Vault(b"not-a-key-at-all")
    assert "not-a-key" not in str(info.value)


def test_key_from_text_accepts_surrounding_whitespace() -> None:
    key = Fernet.generate_key()
    assert key_from_text(f"  {key.decode()}\n") == key
    assert Vault(key_from_text(key.decode())).decrypt(Vault(key).encrypt("x")) == "x"


@pytest.mark.parametrize("text", ["", "short", "ünïcode-key", "A" * 44])
def test_key_from_text_refuses_non_keys(text: str) -> None:
    with pytest.raises(VaultError) as info:
        key_from_text(text)
    assert "not a valid Fernet key" in str(info.value)
    if text:
        assert text not in str(info.value)


def test_vault_repr_hides_the_key() -> None:
    key = Vault.generate_key()
    assert key.decode() not in repr(Vault(key))


def test_key_file_created_0600_with_private_parents(tmp_path: Path) -> None:
    path = tmp_path / "state" / "keys" / "vault.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert path.read_bytes().strip() == key
    assert load_or_create_key(path) == key  # second run reads the same key
    assert [p.name for p in path.parent.iterdir()] == ["vault.key"]  # no temp file left


def test_key_file_works_with_a_vault(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    token = Vault(load_or_create_key(path)).encrypt(SECRET)
    assert Vault(load_or_create_key(path)).decrypt(token) == SECRET


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_refuses_key_file_open_to_group_or_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "vault.key"
    key = Fernet.generate_key()
    path.write_bytes(key)
    os.chmod(path, mode)
    with pytest.raises(VaultError) as info:
        load_or_create_key(path)
    assert str(path) in str(info.value)
    assert f"{mode:04o}" in str(info.value)
    assert key.decode() not in str(info.value)


def test_refuses_key_file_with_invalid_content(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    path.write_bytes(b"this is not a fernet key\n")
    os.chmod(path, 0o600)
    with pytest.raises(VaultError) as info:
        load_or_create_key(path)
    assert str(path) in str(info.value)
    assert "this is not" not in str(info.value)


def test_refuses_a_directory_as_key_file(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    path.mkdir(mode=0o700)
    with pytest.raises(VaultError) as info:
        load_or_create_key(path)
    assert str(path) in str(info.value)


def test_existing_key_file_is_read_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    key = Fernet.generate_key()
    path.write_bytes(key + b"\n")
    os.chmod(path, 0o600)
    assert load_or_create_key(path) == key


def _race(path: str, barrier: Barrier, results: multiprocessing.Queue[bytes]) -> None:
    barrier.wait(timeout=20)
    results.put(load_or_create_key(Path(path)))


def test_concurrent_first_run_yields_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = 6
    for round_ in range(4):
        path = tmp_path / f"round{round_}" / "vault.key"
        barrier = context.Barrier(workers)
        results: multiprocessing.Queue[bytes] = context.Queue()
        procs = [
            context.Process(target=_race, args=(str(path), barrier, results))
            for _ in range(workers)
        ]
        for proc in procs:
            proc.start()
        keys = [results.get(timeout=30) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
            assert proc.exitcode == 0
        assert len(set(keys)) == 1
        assert path.read_bytes().strip() == keys[0]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in path.parent.iterdir()) == ["vault.key"]
