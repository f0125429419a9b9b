"""The operator audit log as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from core.audit.model import AuditEntry


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    request: Any
    before: Any
    after: Any
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            subject=entry.subject,
            request=entry.request,
            before=entry.before,
            after=entry.after,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    kept_from: int
    head_seq: int
    problems: list[str]
