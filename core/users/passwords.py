"""Password hashing with Argon2 (pwdlib's recommended parameters)."""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache

from pwdlib import PasswordHash


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


@lru_cache
def dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal who exists."""
    return hash_password("not-a-real-password-used-for-timing")


def unusable_hash() -> str:
    """A well-formed Argon2 hash that no password matches: a random digest under a random salt
    (nothing was hashed, so nothing can be found). For erased accounts; costs no hashing."""
    parameters = dummy_hash().rsplit("$", 2)[0]
    return f"{parameters}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(32))}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")
