"""Limits on failed sign-ins: per username and per client address, with exponential backoff.

The first ``free`` failures of a key inside the window cost nothing; from then on each attempt
must wait ``first_delay`` (1 s), twice that, four times … (up to ``max_delay``) after the key's
last failure. Attempts refused
for waiting are not failures: they change nothing, so the wait ends when it said it would.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class LimitKind(StrEnum):
    USERNAME = "username"
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class SignInLimits:
    per_username: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)

    def free(self, kind: LimitKind) -> int:
        return self.per_username if kind is LimitKind.USERNAME else self.per_address


@dataclass(frozen=True, slots=True)
class FailureCount:
    """A key's failures inside the window, and the latest of them."""

    failures: int
    last_failure_at: datetime | None


def wait_seconds(
    count: FailureCount,
    *,
    free: int,
    max_delay: timedelta,
    now: datetime,
    first_delay: timedelta = timedelta(seconds=1),
) -> float:
    """Seconds until the key may try again; 0 when it may now."""
    if count.failures < free or count.last_failure_at is None:
        return 0.0
    doubled = first_delay.total_seconds() * 2.0 ** min(count.failures - free, 60)
    delay = min(doubled, max_delay.total_seconds())
    ready_at = count.last_failure_at + timedelta(seconds=delay)
    return max(0.0, (ready_at - now).total_seconds())


def retry_after_header(seconds: float) -> int:
    """Whole seconds for ``Retry-After``: never 0 for a refusal."""
    return max(1, math.ceil(seconds))


def limit_key(kind: LimitKind, value: str) -> str:
    """The stored form of a key: hashed, so the table holds no usernames or addresses."""
    return hashlib.sha256(f"{kind.value}:{value}".encode()).hexdigest()
