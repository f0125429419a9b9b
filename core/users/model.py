"""User records and the rules for usernames, passwords and display names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.errors import RuleViolation

UserId = int

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DISPLAY_NAME_MAX = 64


class Role(StrEnum):
    MEMBER = "member"
    OPERATOR = "operator"
    AUTHOR = "author"


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    username: str
    display_name: str
    roles: frozenset[Role]
    created_at: datetime
    is_active: bool = True
    # Whether other members may read the member's rank history (operators always may).
    rank_history_public: bool = True
    # Random, replaced whenever the user's tokens are revoked; every token carries it.
    token_stamp: str = ""

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in NFKC lower case."""
    name = unicodedata.normalize("NFKC", username).strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise RuleViolation(
            "username must be 3-32 characters of a-z, 0-9, '_', '.', '-' and start with a "
            "letter or digit",
            field="username",
            rule="username_format",
        )
    return name


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise RuleViolation(
            f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters",
            field="password",
            rule="password_length",
        )
    return password


def normalize_display_name(display_name: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", display_name).split())
    if not 1 <= len(name) <= DISPLAY_NAME_MAX or not name.isprintable():
        raise RuleViolation(
            f"display name must be 1-{DISPLAY_NAME_MAX} printable characters",
            field="display_name",
            rule="display_name_format",
        )
    return name
