"""Password hashes for console administrators: scrypt from the standard library.

A hash reads ``scrypt$N$r$p$<salt hex>$<hash hex>`` so the cost can be raised later
without breaking older hashes. The parameters (N=2**14, r=8, p=1, 16-byte salt,
32-byte key) are those OWASP lists for scrypt; a check costs ~16 MiB and tens of ms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${salt.hex()}${key.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` hashes (constant-time comparison);
    False for a malformed hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return False
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(key)), key)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, size: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=size
    )
