"""Bodies of the member data rights routes: consents, exports, erasure."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.privacy.model import (
    BODY_MAX,
    TITLE_MAX,
    ConsentDocument,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    ErasureRequest,
)
from core.privacy.services import NOTE_MAX, ErasureOutcome


class ConsentDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ConsentKind
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX, description="The full text")


class ConsentDocumentOut(BaseModel):
    kind: ConsentKind
    version: int
    title: str
    body: str
    sha256: str = Field(description="Hex SHA-256 of the UTF-8 text")
    published_at: datetime

    @classmethod
    def of(cls, d: ConsentDocument) -> ConsentDocumentOut:
        return cls(
            kind=d.kind,
            version=d.version,
            title=d.title,
            body=d.body,
            sha256=d.sha256,
            published_at=d.published_at,
        )


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ConsentKind
    version: int = Field(ge=1, le=2_147_483_647, description="Must be the latest version")


class ConsentRecordOut(BaseModel):
    kind: ConsentKind
    version: int
    action: str = Field(description="accept or withdraw")
    at: datetime

    @classmethod
    def of(cls, r: ConsentRecord) -> ConsentRecordOut:
        return cls(kind=r.kind, version=r.version, action=r.action.value, at=r.at)


class ConsentStateOut(BaseModel):
    kind: ConsentKind
    latest_version: int | None
    accepted_version: int | None
    current: bool = Field(description="Accepted the latest version (or none is published)")

    @classmethod
    def of(cls, s: ConsentState) -> ConsentStateOut:
        return cls(
            kind=s.kind,
            latest_version=s.latest_version,
            accepted_version=s.accepted_version,
            current=s.current,
        )


class ConsentsOut(BaseModel):
    states: list[ConsentStateOut]
    history: list[ConsentRecordOut]


class ErasureRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=NOTE_MAX)


class ErasureRequestOut(BaseModel):
    id: int
    user_id: int
    status: str = Field(description="pending or erased")
    requested_at: datetime
    erased_at: datetime | None

    @classmethod
    def of(cls, r: ErasureRequest) -> ErasureRequestOut:
        return cls(
            id=r.id,
            user_id=r.user_id,
            status=r.status,
            requested_at=r.requested_at,
            erased_at=r.erased_at,
        )


class EraseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=NOTE_MAX, description="Why (kept on record)")


class ErasureOut(BaseModel):
    user_id: int
    pseudonym: str
    erased_at: datetime
    erased_by: int
    reason: str
    already_erased: bool
    changed: dict[str, int] = Field(description="Rows deleted or pseudonymised, per table")
    kept: dict[str, str] = Field(description="table.column kept, and why")

    @classmethod
    def of(cls, o: ErasureOutcome) -> ErasureOut:
        return cls(
            user_id=o.user_id,
            pseudonym=o.pseudonym,
            erased_at=o.erased_at,
            erased_by=o.erased_by,
            reason=o.reason,
            already_erased=o.already_erased,
            changed=o.changed,
            kept=o.kept,
        )
