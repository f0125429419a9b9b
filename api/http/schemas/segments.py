"""HTTP shapes of segments: the onboarding questionnaire, a member's answers, segment
definitions with their sizes, and tag refreshes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.segments.model import QUESTIONNAIRE_VERSION, Question
from core.segments.services import Onboarding, Segment
from engine.segments.tags import TagRefresh


class QuestionOut(BaseModel):
    key: str
    choices: list[str] = Field(description="The allowed values, in display order")
    multiple: bool = Field(description="True: a list of choices; false: one choice")

    @classmethod
    def of(cls, q: Question) -> QuestionOut:
        return cls(key=q.key, choices=list(q.choices), multiple=q.multiple)


class OnboardingIn(BaseModel):
    """Answers by question key: a choice, or a list of choices for a multiple question.
    Questions left out are unanswered."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, str | list[str]] = Field(
        max_length=20,
        examples=[{"risk_tolerance": "high", "interests": ["a_shares", "etfs"]}],
    )


class OnboardingOut(BaseModel):
    questionnaire_version: int
    questionnaire: list[QuestionOut]
    answers: dict[str, str | list[str]]
    revision: int = Field(description="Submissions so far (0: never answered)")
    answered_version: int | None = Field(description="The questionnaire version last answered")
    updated_at: datetime | None

    @classmethod
    def of(cls, found: Onboarding, questions: tuple[Question, ...]) -> OnboardingOut:
        multiple = {q.key: q.multiple for q in questions}
        return cls(
            questionnaire_version=QUESTIONNAIRE_VERSION,
            questionnaire=[QuestionOut.of(q) for q in questions],
            answers={
                k: list(v) if multiple.get(k) else v[0] for k, v in found.answers.items() if v
            },
            revision=found.revision,
            answered_version=found.questionnaire_version if found.revision else None,
            updated_at=found.updated_at,
        )


class DefinitionIn(BaseModel):
    """A segment definition: ``all`` / ``any`` of nodes, ``not`` a node, ``{"answer": question,
    "in": [choices]}`` or ``{"tag": tag}``."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any] = Field(
        examples=[{"all": [{"answer": "risk_tolerance", "in": ["high"]}, {"tag": "active_trader"}]}]
    )


class SegmentIn(DefinitionIn):
    key: str = Field(min_length=2, max_length=64, examples=["bold_traders"])
    name: str = Field(min_length=1, max_length=128)


class SegmentOut(BaseModel):
    key: str
    name: str
    definition: dict[str, Any]
    created_by: int | None
    created_at: datetime
    size: int = Field(description="Active members in the segment now")

    @classmethod
    def of(cls, s: Segment) -> SegmentOut:
        return cls(
            key=s.key,
            name=s.name,
            definition=dict(s.definition),
            created_by=s.created_by,
            created_at=s.created_at,
            size=s.size,
        )


class SizeOut(BaseModel):
    size: int


class TagCountsOut(BaseModel):
    counts: dict[str, int]


class TagRefreshOut(BaseModel):
    members: int
    added: int
    removed: int
    counts: dict[str, int]
    computed_at: datetime

    @classmethod
    def of(cls, r: TagRefresh) -> TagRefreshOut:
        return cls(
            members=r.members,
            added=r.added,
            removed=r.removed,
            counts=dict(r.counts),
            computed_at=r.computed_at,
        )
