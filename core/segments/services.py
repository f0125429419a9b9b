"""Segment use cases: a member's onboarding answers, operators' segment definitions and their
sizes, and the targeting checks other features call.

``is_eligible`` / ``require_eligible`` / ``members_of`` / ``check_target`` take the caller's
session, so a contest join, a quiz attempt, a task or a redemption checks its target inside
its own transaction; each returns at once (no query) when the target is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.clock import utc_now
from core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from core.segments import model
from core.segments.model import QUESTIONNAIRE, QUESTIONNAIRE_VERSION, Question
from core.segments.store import DuplicateSegment, OnboardingRow, SegmentRow, SegmentsRepository
from core.segments.uow import SegmentsUnitOfWork


@dataclass(frozen=True, slots=True)
class Onboarding:
    """A member's answers (empty and ``revision`` 0 before the first submission)."""

    user_id: int
    answers: Mapping[str, tuple[str, ...]]
    questionnaire_version: int
    revision: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Segment:
    key: str
    name: str
    definition: Mapping[str, Any]
    created_by: int | None
    created_at: datetime
    size: int


def questionnaire() -> tuple[Question, ...]:
    """The questions and their allowed values (what ``GET /v1/me/onboarding`` shows)."""
    return QUESTIONNAIRE


# --- onboarding ---------------------------------------------------------------------------------


def get_onboarding(uow: SegmentsUnitOfWork, user_id: int) -> Onboarding:
    with uow.reading():
        return _onboarding(user_id, uow.segments.onboarding(user_id))


def submit_answers(
    uow: SegmentsUnitOfWork,
    user_id: int,
    answers: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> Onboarding:
    """Replace the member's answers (questions left out are unanswered); ``RuleViolation``
    names the question and the rule."""
    checked = model.check_answers(answers)
    stored = {key: list(v) if model.QUESTIONS[key].multiple else v[0] for key, v in checked.items()}
    moment = now or utc_now()
    with uow:
        row = uow.segments.onboarding(user_id, lock=True)
        if row is None:
            row = OnboardingRow(
                user_id=user_id,
                answers=stored,
                questionnaire_version=QUESTIONNAIRE_VERSION,
                revision=1,
                submitted_at=moment,
                updated_at=moment,
            )
            inserted = uow.segments.add_onboarding(row)
            if not inserted:  # a concurrent first submission won: update the row it wrote
                row = _require_onboarding(uow, user_id)
                _resubmit(row, stored, moment)
        else:
            _resubmit(row, stored, moment)
        uow.commit()
        return _onboarding(user_id, row)


def _require_onboarding(uow: SegmentsUnitOfWork, user_id: int) -> OnboardingRow:
    row = uow.segments.onboarding(user_id, lock=True)
    if row is None:  # the insert failed on this very key, so a row is there
        raise NotFound(f"no onboarding answers of member {user_id}")
    return row


def _resubmit(row: OnboardingRow, stored: dict[str, Any], moment: datetime) -> None:
    row.answers = stored
    row.questionnaire_version = QUESTIONNAIRE_VERSION
    row.revision += 1
    row.updated_at = moment


def _onboarding(user_id: int, row: OnboardingRow | None) -> Onboarding:
    if row is None:
        return Onboarding(user_id, {}, QUESTIONNAIRE_VERSION, 0, None)
    answers = {k: tuple(v) for k, v in model.normalise(row.answers).items()}
    ordered = {
        q.key: tuple(c for c in q.choices if c in answers[q.key])
        for q in QUESTIONNAIRE
        if q.key in answers
    }
    return Onboarding(user_id, ordered, row.questionnaire_version, row.revision, row.updated_at)


# --- segments -----------------------------------------------------------------------------------


def define_segment(
    uow: SegmentsUnitOfWork,
    key: str,
    *,
    name: str,
    definition: Any,
    operator_id: int | None,
    now: datetime | None = None,
) -> Segment:
    """Create a segment; its definition is validated (``RuleViolation`` with the JSON path),
    a taken key is a ``Conflict`` (``segment_taken``)."""
    model.check_key(key)
    if not name.strip():
        raise RuleViolation("a segment needs a name", field="name", rule="non_empty")
    node = model.parse_definition(definition)
    with uow:
        row = SegmentRow(
            key=key,
            name=name.strip(),
            definition=definition,
            created_by=operator_id,
            created_at=now or utc_now(),
        )
        try:
            uow.segments.add_segment(row)
        except DuplicateSegment as exc:
            raise Conflict(
                f"a segment {key!r} exists already", field="key", rule="segment_taken"
            ) from exc
        size = _size(uow.segments, node)
        uow.commit()
        return _segment(row, size)


def list_segments(uow: SegmentsUnitOfWork) -> list[Segment]:
    """Every segment by key, each with its current size (members in it)."""
    with uow.reading(snapshot=True):
        population = _population(uow.segments)
        return [
            _segment(row, _count(model.parse_definition(row.definition), population))
            for row in uow.segments.segments()
        ]


def get_segment(uow: SegmentsUnitOfWork, key: str) -> Segment:
    with uow.reading(snapshot=True):
        row = uow.segments.segment(key)
        if row is None:
            raise NotFound(f"no segment {key!r}", field="key", rule="known_segment")
        return _segment(row, _size(uow.segments, model.parse_definition(row.definition)))


def preview_size(uow: SegmentsUnitOfWork, definition: Any) -> int:
    """How many members a definition would hold now (nothing is stored)."""
    node = model.parse_definition(definition)
    with uow.reading(snapshot=True):
        return _size(uow.segments, node)


def tag_counts(uow: SegmentsUnitOfWork) -> Mapping[str, int]:
    """Members holding each behavioural tag (every tag listed, 0 when nobody holds it)."""
    with uow.reading():
        counts = uow.segments.tag_counts()
    return {tag.value: counts.get(tag.value, 0) for tag in model.Tag}


def _segment(row: SegmentRow, size: int) -> Segment:
    return Segment(row.key, row.name, row.definition, row.created_by, row.created_at, size)


Population = tuple[set[int], dict[int, dict[str, Any]], dict[int, frozenset[str]]]


def _population(repo: SegmentsRepository) -> Population:
    return repo.member_ids(), repo.all_answers(), repo.all_tags()


def _members(node: model.Node, population: Population) -> set[int]:
    ids, answers, tags = population
    return {
        user_id
        for user_id in ids
        if model.evaluate(
            node, model.normalise(answers.get(user_id, {})), tags.get(user_id, frozenset())
        )
    }


def _count(node: model.Node, population: Population) -> int:
    return len(_members(node, population))


def _size(repo: SegmentsRepository, node: model.Node) -> int:
    return _count(node, _population(repo))


# --- targeting (called by contests, tasks, quizzes and rewards) -------------------------------


def members_of(session: Session, key: str) -> set[int]:
    """The ids of the active members in the segment now; ``NotFound`` for an unknown key."""
    repo = SegmentsRepository(session)
    row = repo.segment(key)
    if row is None:
        raise NotFound(f"no segment {key!r}", field="key", rule="known_segment")
    return _members(model.parse_definition(row.definition), _population(repo))


def is_eligible(session: Session, user_id: int, target_segment: str | None) -> bool:
    """Whether the member may take part in something targeted at ``target_segment`` (None:
    everyone, without a query). A segment deleted since it was targeted admits nobody."""
    if target_segment is None:
        return True
    repo = SegmentsRepository(session)
    row = repo.segment(target_segment)
    if row is None:
        return False
    onboarding = repo.onboarding(user_id)
    answers = model.normalise(onboarding.answers if onboarding is not None else {})
    return model.evaluate(model.parse_definition(row.definition), answers, repo.tags_of(user_id))


def require_eligible(
    session: Session, user_id: int, target_segment: str | None, *, field: str
) -> None:
    """``is_eligible`` or a 403 ``segment_required`` naming the segment."""
    if not is_eligible(session, user_id, target_segment):
        raise PermissionDenied(
            f"this is offered only to members in segment {target_segment!r}",
            field=field,
            rule="segment_required",
            segment=target_segment,
        )


def check_target(session: Session, target_segment: str | None) -> str | None:
    """A target an operator sets must name a segment (422 ``known_segment``); None passes."""
    if target_segment is not None and SegmentsRepository(session).segment(target_segment) is None:
        raise RuleViolation(
            f"no segment {target_segment!r}", field="target_segment", rule="known_segment"
        )
    return target_segment
