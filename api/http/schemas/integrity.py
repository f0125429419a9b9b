"""Integrity review: scan requests, cases and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.integrity.model import SignalRecord
from engine.integrity.model import Case
from engine.integrity.services import Person, ScanReport


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contest_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None = Field(
        default=None,
        max_length=100,
        description="Contests whose fills to scan; left out: every contest still trading",
    )


class CaseOut(BaseModel):
    id: int
    kind: Literal["shared_signal", "mirrored", "opposite"]
    contest_id: int | None
    member_ids: list[int]
    score: float = Field(description="0 … 1: how strongly the evidence points to one person")
    evidence: dict[str, Any]
    status: Literal["open", "same_person", "distinct"]
    created_at: datetime
    reason: str | None
    decided_by: int | None
    decided_at: datetime | None

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        return cls(
            id=case.id,
            kind=case.kind.value,
            contest_id=case.contest_id,
            member_ids=list(case.member_ids),
            score=case.score,
            evidence=dict(case.evidence),
            status=case.status.value,
            created_at=case.created_at,
            reason=case.reason,
            decided_by=case.decided_by,
            decided_at=case.decided_at,
        )


class ScanOut(BaseModel):
    contest_ids: list[int]
    findings: int = Field(description="Findings of every detector, new or already known")
    opened: list[CaseOut]

    @classmethod
    def of(cls, report: ScanReport) -> ScanOut:
        return cls(
            contest_ids=list(report.contest_ids),
            findings=report.findings,
            opened=[CaseOut.of(case) for case in report.opened],
        )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["same_person", "distinct"]
    reason: str = Field(min_length=1, max_length=500)


class PersonOut(BaseModel):
    person_id: int
    member_ids: list[int] = Field(description="Every account of the person, ascending")

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        return cls(person_id=person.person_id, member_ids=list(person.member_ids))


class SignalOut(BaseModel):
    kind: Literal["sign_up", "login"]
    ip: str | None
    device_id: str | None
    user_agent_hash: str | None = Field(description="SHA-256 hex of the User-Agent")
    at: datetime

    @classmethod
    def of(cls, signal: SignalRecord) -> SignalOut:
        return cls(
            kind=signal.kind.value,
            ip=signal.ip,
            device_id=signal.device_id,
            user_agent_hash=signal.user_agent_hash,
            at=signal.at,
        )
