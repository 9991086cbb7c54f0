"""A token's text: ``mf_<lookup>_<secret>``, and the hash that is all the database keeps.

- ``mf_``: a recognisable prefix (secret scanners and people can tell what leaked);
- ``<lookup>``: 12 hex digits (6 random bytes), not secret: the row is found by it;
- ``<secret>``: 32 random bytes from the OS's CSPRNG, base64url without padding.

The stored hash is SHA-256 of the whole text. No slow KDF (bcrypt, scrypt, Argon2) is
needed: those make guessing *low-entropy* passwords expensive, but this secret has 256
random bits, so inverting or brute-forcing its SHA-256 is infeasible however fast the
hash is; a slow hash would only make every API request cost tens of milliseconds of CPU
(and make failed attempts a cheap way to load the server). Hashes are compared in
constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "mf_"
SECRET_BYTES = 32
LOOKUP_BYTES = 6
_SHAPE = re.compile(r"mf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: its text (shown once) and what is stored of it."""

    text: str
    lookup_id: str
    secret_hash: str

    def __repr__(self) -> str:  # the text must not reach a log by accident
        return f"NewToken(lookup_id={self.lookup_id!r})"


def make_token() -> NewToken:
    lookup = secrets.token_hex(LOOKUP_BYTES)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    text = f"{PREFIX}{lookup}_{secret}"
    return NewToken(text=text, lookup_id=lookup, secret_hash=token_hash(text))


def lookup_id(text: str) -> str | None:
    """The lookup part of a well-formed token text; None for anything else."""
    match = _SHAPE.fullmatch(text)
    return match.group(1) if match else None


def token_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_matches(text: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(text), stored_hash)
