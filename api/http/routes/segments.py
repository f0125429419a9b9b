"""Segments: a member's onboarding questionnaire; operators define segments over answers and
behavioural tags, see their sizes and refresh the tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import CurrentUser, LedgerUow, OperatorUser, SegmentsUow, SettingsDep
from api.http.problems import problem_doc
from api.http.schemas.segments import (
    DefinitionIn,
    OnboardingIn,
    OnboardingOut,
    SegmentIn,
    SegmentOut,
    SizeOut,
    TagCountsOut,
    TagRefreshOut,
)
from core.segments import services as segments
from engine.segments.tags import refresh_tags, thresholds_from

SegmentKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")]

router = APIRouter(
    prefix="/me/onboarding",
    tags=["segments"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Accept the terms in force first (consent_required)"),
    },
)
admin_router = APIRouter(
    tags=["admin: segments"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
BAD_DEFINITION: dict[int | str, dict[str, Any]] = {
    422: problem_doc("A definition node breaks a rule (its JSON path in field)")
}


@router.get("", response_model=OnboardingOut)
def get_onboarding(user: CurrentUser, uow: SegmentsUow) -> OnboardingOut:
    """The questionnaire with its allowed values, and the member's answers."""
    return OnboardingOut.of(segments.get_onboarding(uow, user.id), segments.questionnaire())


@router.put(
    "",
    response_model=OnboardingOut,
    responses={422: problem_doc("An unknown question or a choice not allowed")},
)
def put_onboarding(body: OnboardingIn, user: CurrentUser, uow: SegmentsUow) -> OnboardingOut:
    """Replace the member's answers (questions left out are unanswered)."""
    found = segments.submit_answers(uow, user.id, body.answers)
    return OnboardingOut.of(found, segments.questionnaire())


@admin_router.get("/admin/segments", response_model=list[SegmentOut])
def list_segments(_: OperatorUser, uow: SegmentsUow) -> list[SegmentOut]:
    """Every segment with its size now."""
    return [SegmentOut.of(s) for s in segments.list_segments(uow)]


@admin_router.post(
    "/admin/segments",
    status_code=status.HTTP_201_CREATED,
    response_model=SegmentOut,
    responses={**BAD_DEFINITION, 409: problem_doc("The key is taken (`segment_taken`)")},
)
@audited("segment.create", subject="segment:{result.key}", state=states.segment)
def create_segment(body: SegmentIn, operator: OperatorUser, uow: SegmentsUow) -> SegmentOut:
    """Define a segment over onboarding answers and behavioural tags."""
    made = segments.define_segment(
        uow, body.key, name=body.name, definition=body.definition, operator_id=operator.id
    )
    return SegmentOut.of(made)


@admin_router.post("/admin/segments/preview", response_model=SizeOut, responses=BAD_DEFINITION)
@audited("segment.preview", subject="segment:preview")
def preview_segment(body: DefinitionIn, _: OperatorUser, uow: SegmentsUow) -> SizeOut:
    """How many members a definition would hold now (nothing is stored)."""
    return SizeOut(size=segments.preview_size(uow, body.definition))


@admin_router.get(
    "/admin/segments/{key}",
    response_model=SegmentOut,
    responses={404: problem_doc("No such segment")},
)
def get_segment(key: SegmentKey, _: OperatorUser, uow: SegmentsUow) -> SegmentOut:
    """One segment with its size now."""
    return SegmentOut.of(segments.get_segment(uow, key))


@admin_router.get("/admin/segment-tags", response_model=TagCountsOut)
def tag_counts(_: OperatorUser, uow: SegmentsUow) -> TagCountsOut:
    """How many members hold each behavioural tag (as of the last refresh)."""
    return TagCountsOut(counts=dict(segments.tag_counts(uow)))


@admin_router.post("/admin/segment-tags/refresh", response_model=TagRefreshOut)
@audited("segment_tags.refresh", subject="segment_tags:all", state=states.segment_tags)
def refresh(_: OperatorUser, uow: LedgerUow, settings: SettingsDep) -> TagRefreshOut:
    """Recompute every member's behavioural tags now (safe to repeat)."""
    return TagRefreshOut.of(refresh_tags(uow, thresholds=thresholds_from(settings)))
