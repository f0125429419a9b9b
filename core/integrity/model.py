"""Sign-in signals and person links as frozen values.

A *signal* is what the client showed at a sign-up or a login: its address, the device id the
client sends (header ``X-Device-Id``, which the web UI keeps in local storage) and a hash of its
user agent. A *person* is a group of accounts an operator decided belong to one human; an account
nobody linked is its own person (person id = user id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

DEVICE_ID_MAX = 64
ADDRESS_MAX = 64


class SignalKind(StrEnum):
    SIGN_UP = "sign_up"
    LOGIN = "login"


@dataclass(frozen=True, slots=True)
class ClientSignal:
    """What a request tells about its client; every part may be missing."""

    ip: str | None = None
    device_id: str | None = None
    user_agent: str | None = None

    @property
    def user_agent_hash(self) -> str | None:
        """SHA-256 hex of the user agent: equal agents compare equal, the text is not kept."""
        if not self.user_agent:
            return None
        return hashlib.sha256(self.user_agent.encode()).hexdigest()

    @classmethod
    def of(cls, *, ip: str | None, device_id: str | None, user_agent: str | None) -> ClientSignal:
        """A signal from raw request values, clipped to the stored lengths (blank = missing)."""
        device = (device_id or "").strip()[:DEVICE_ID_MAX] or None
        return cls(
            ip=(ip or "").strip()[:ADDRESS_MAX] or None,
            device_id=device,
            user_agent=user_agent or None,
        )


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """One stored signal."""

    id: int
    user_id: int
    kind: SignalKind
    ip: str | None
    device_id: str | None
    user_agent_hash: str | None
    at: datetime
