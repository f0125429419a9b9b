"""Password hashing with Argon2 (pwdlib's recommended parameters)."""

from __future__ import annotations

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
