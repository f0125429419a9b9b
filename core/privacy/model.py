"""Consent documents, members' consent records and erasure requests (frozen records)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.users.model import UserId


class ConsentKind(StrEnum):
    TERMS = "terms"
    PRIVACY = "privacy"
    QUESTIONNAIRE = "questionnaire"


class ConsentAction(StrEnum):
    ACCEPT = "accept"
    WITHDRAW = "withdraw"


# Members without the latest version of these may not write (``consent_required``).
REQUIRED_KINDS = (ConsentKind.TERMS,)

TITLE_MAX, BODY_MAX = 200, 200_000


def text_sha256(body: str) -> str:
    """The hex SHA-256 of a document's text (UTF-8): what a member's acceptance refers to."""
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ConsentDocument:
    """One published version of the terms, the privacy notice or the questionnaire."""

    kind: ConsentKind
    version: int  # 1, 2, … per kind
    title: str
    body: str
    sha256: str  # text_sha256(body)
    published_at: datetime
    published_by: UserId | None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A member accepted, or withdrew their acceptance of, one version of a document."""

    id: int
    user_id: UserId
    kind: ConsentKind
    version: int
    action: ConsentAction
    at: datetime
    address: str | None  # the client address at the time; cleared on erasure


@dataclass(frozen=True, slots=True)
class ConsentState:
    """Where a member stands with one kind of document."""

    kind: ConsentKind
    latest_version: int | None  # None: nothing of this kind is published
    accepted_version: int | None  # the version accepted last and not withdrawn since

    @property
    def current(self) -> bool:
        return self.latest_version is None or self.accepted_version == self.latest_version


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    id: int
    user_id: UserId
    status: str  # "pending" | "erased"
    requested_at: datetime
    note: str | None
    erased_at: datetime | None
    erased_by: UserId | None
    reason: str | None


def consent_state(
    kind: ConsentKind, latest: ConsentDocument | None, last: ConsentRecord | None
) -> ConsentState:
    """The member's state for ``kind`` from the latest document and their last record."""
    accepted = last.version if last is not None and last.action is ConsentAction.ACCEPT else None
    return ConsentState(kind, None if latest is None else latest.version, accepted)
