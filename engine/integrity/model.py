"""Review cases: a flagged group of accounts, its evidence and the operator's decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from engine.integrity.detectors import FindingKind


class CaseStatus(StrEnum):
    OPEN = "open"
    SAME_PERSON = "same_person"  # decided: the accounts are linked into one person
    DISTINCT = "distinct"  # decided: dismissed, never raised again for the same evidence


class Decision(StrEnum):
    SAME_PERSON = "same_person"
    DISTINCT = "distinct"


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    kind: FindingKind
    contest_id: int | None
    member_ids: tuple[int, ...]
    score: float
    evidence: Mapping[str, Any]
    status: CaseStatus
    created_at: datetime
    reason: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
