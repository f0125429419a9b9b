"""The segments' section of a member's data (PIPL export and erasure).

Onboarding answers (risk tolerance, asset band, experience, interests) are personal and say
nothing others depend on: erasure deletes them, and the member's behavioural tags with them (a
refresh would recompute tags, so a later refresh skips erased accounts: they are inactive).
Segments name their operator by id.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.segments.store import MemberTagRow, OnboardingRow
from core.users.model import UserId

PERSONAL = "the member's own questionnaire answers or behavioural tags: personal, not depended on"
OPERATOR = "which operator defined the segment (an id)"


def export_segments(session: Session, user_id: UserId) -> JsonDict:
    """The member's onboarding answers and the behavioural tags they hold."""
    return {
        "onboarding": rows_of(session, "member_onboarding", "user_id", [user_id]),
        "tags": rows_of(session, "member_tags", "user_id", [user_id]),
    }


def erase_segments(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Delete the member's answers and tags."""
    answers = session.execute(delete(OnboardingRow).where(OnboardingRow.user_id == user_id))
    tags = session.execute(delete(MemberTagRow).where(MemberTagRow.user_id == user_id))
    return {
        "member_onboarding": int(answers.rowcount),  # type: ignore[attr-defined]
        "member_tags": int(tags.rowcount),  # type: ignore[attr-defined]
    }


SEGMENTS_SECTION = Section(
    name="segments",
    tables=(
        TableUse("member_onboarding", "user_id", Treatment.DELETED, PERSONAL),
        TableUse("member_tags", "user_id", Treatment.DELETED, PERSONAL),
        TableUse("segments", "created_by", Treatment.KEPT, OPERATOR),
    ),
    export=export_segments,
    erase=erase_segments,
)
